"""``deid run`` from a PACS to a PACS (or a folder) against the real Orthanc pair."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pacs_run import RESEARCH_ENV, deid_env, download_all, ledger_rows, local_ledger, run_deid


@pytest.fixture
def empty_research(research):
    research.delete_all()
    yield research
    research.delete_all()


def _check_exactly_once(rows: list[dict], clinical, stored: set[str], dest_kind: str) -> None:
    """Every instance of the clinical server once in the ledger, written and stored; the
    research server holds exactly the written instances."""
    sources = [r["input_path"] for r in rows]
    assert len(sources) == len(set(sources))
    pulled = {s.rsplit("/instances/", 1)[1] for s in sources}
    assert pulled == clinical.instance_uids()
    written = [r for r in rows if r["status"] == "written"]
    others = [r for r in rows if r["status"] != "written"]
    # The export's encapsulated PDF is excluded by the recipe; everything else is written.
    assert [r["status"] for r in others] == ["excluded"], [r["reason"] for r in others]
    assert others[0]["destination_status"] is None
    assert stored == {r["sop_instance_uid_out"] for r in written}
    assert all(r["destination_status"].startswith(dest_kind) for r in written)
    assert not stored & clinical.instance_uids()  # new UIDs, nothing of the original


def test_dicomweb_to_dicomweb(tmp_path, clinical, empty_research):
    ledger = tmp_path / "ledger"
    env = deid_env(tmp_path, **RESEARCH_ENV)
    args = ("run", "basic", clinical.dicomweb_url, "--out", empty_research.dicomweb_url)
    done = run_deid(tmp_path, *args, "--ledger", str(ledger), "--workers", "2", env=env)
    assert done.returncode == 0, done.stderr
    # Progress counts instances, as the ledger does (it used to count series against files).
    instances = len(clinical.instance_uids())
    assert f"{instances}/{instances} files" in done.stderr, done.stderr
    rows = ledger_rows(ledger)
    _check_exactly_once(rows, clinical, empty_research.instance_uids(), "STOW-RS stored")
    assert all(r["input_path"].startswith(clinical.dicomweb_url + "/studies/") for r in rows)
    assert "password" not in (ledger / "run.json").read_text()
    report = run_deid(tmp_path, "report", str(ledger))
    assert report.returncode == 0 and "incomplete" not in report.stdout + report.stderr, (
        report.stdout + report.stderr
    )
    assert f"{len(rows)} file(s)" in report.stdout + report.stderr
    # The same command again: every partition done, nothing fetched or sent twice.
    again = run_deid(tmp_path, *args, "--ledger", str(ledger), env=env)
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stderr
    assert len(ledger_rows(ledger)) == len(rows)


def test_dimse_to_dimse(tmp_path, clinical, empty_research):
    ledger = tmp_path / "ledger"
    args = ("run", "basic", clinical.dimse_url, "--out", empty_research.dimse_url, "--verify")
    dry = run_deid(tmp_path, *args, "--ledger", str(ledger), "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stderr, dry.stderr
    # Series are the plan's entries; the instances are counted as the archive counts them.
    instances = len(clinical.instance_uids())
    assert f"series ({instances} instance(s) as the source counts them)" in dry.stderr
    assert empty_research.instance_uids() == set()
    done = run_deid(tmp_path, *args, "--ledger", str(ledger), "--workers", "2")
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(ledger)
    _check_exactly_once(rows, clinical, empty_research.instance_uids(), "C-STORE 0x0000")
    assert all(r["input_path"].startswith(clinical.dimse_url + "/studies/") for r in rows)


def test_dicomweb_to_folder_then_verify_what_research_returns(tmp_path, clinical, empty_research):
    """DICOMweb to a folder; the same batch DICOMweb to the research server; what the
    research server returns is byte for byte the folder's files, and ``deid verify`` over
    them (against the originals, fetched apart) finds nothing."""
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(32))
    common = ("--key-file", str(key), "--workers", "2")
    done = run_deid(tmp_path, "run", "basic", clinical.dicomweb_url, "--out", str(out), *common)
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(ledger)
    written = {r["output_path"] for r in rows if r["status"] == "written"}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.dcm")}
    assert written == on_disk and len(written) == len(rows) - 1
    assert all(r["destination_status"] is None for r in rows)

    sent = run_deid(
        tmp_path,
        "run", "basic", clinical.dicomweb_url, "--out", empty_research.dicomweb_url,
        "--ledger", str(tmp_path / "sent.ledger"), *common,
        env=deid_env(tmp_path, **RESEARCH_ENV),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    returned = download_all(empty_research, tmp_path / "returned")
    assert {str(p.relative_to(tmp_path / "returned")) for p in returned.values()} == on_disk
    for path in returned.values():
        assert path.read_bytes() == (out / path.relative_to(tmp_path / "returned")).read_bytes()

    originals = download_all(clinical, tmp_path / "originals")
    verify_ledger = local_ledger(ledger, tmp_path / "verify.ledger", originals)
    check = run_deid(
        tmp_path, "verify", str(tmp_path / "returned"), "--ledger", str(verify_ledger),
        "--input", str(tmp_path / "originals"), "--workers", "1",
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_query_and_manifest_select_studies(tmp_path, clinical):
    from deid.pacs import qido
    from deid.pacs.query import parse_query
    from deid.pacs.urls import parse_endpoint

    endpoint = parse_endpoint(clinical.dicomweb_url)
    ct = {s.study_uid for s in qido.list_studies(endpoint, parse_query("ModalitiesInStudy=CT"))}
    every = [s.study_uid for s in qido.list_studies(endpoint, parse_query(None))]
    assert 0 < len(ct) < len(every)
    out = tmp_path / "ct"
    done = run_deid(
        tmp_path, "run", "basic", clinical.dicomweb_url, "--out", str(out),
        "--query", "ModalitiesInStudy=CT", "--workers", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    studies = {
        r["input_path"].split("/studies/")[1].split("/")[0]
        for r in ledger_rows(Path(f"{out}.ledger"))
    }
    assert studies == ct
    manifest = tmp_path / "studies.txt"
    manifest.write_text(f"{every[0]}\n\n{every[-1]}\n")
    picked = tmp_path / "picked"
    done = run_deid(
        tmp_path, "run", "basic", clinical.dimse_url, "--out", str(picked),
        "--manifest", str(manifest), "--workers", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    studies = {
        r["input_path"].split("/studies/")[1].split("/")[0]
        for r in ledger_rows(Path(f"{picked}.ledger"))
    }
    assert studies == {every[0], every[-1]}


@pytest.mark.parametrize(
    "case", ["bad-url", "unknown-aet", "refused", "401", "query-without-pacs", "no-ledger", "mixed"]
)
def test_usage_errors_before_anything_is_fetched(case, tmp_path, clinical, research):
    from pacs_servers import free_port

    ledger = tmp_path / "ledger"
    source, out = clinical.dicomweb_url, research.dicomweb_url
    extra: list[str] = ["--ledger", str(ledger)]
    env = deid_env(tmp_path, DEID_DEST_USERNAME="deid-research", DEID_DEST_PASSWORD="wrong-pw")
    inputs = [source]
    if case == "bad-url":
        inputs = ["dicomweb+ftp//nowhere"]
        out = "dimse://TOO-LONG-AE-TITLE-X@127.0.0.1:104"
    elif case == "unknown-aet":
        inputs, out = [f"dimse://NOBODY@127.0.0.1:{clinical.dicom_port}"], str(tmp_path / "o")
    elif case == "refused":
        inputs = [f"dimse://CLINICAL@127.0.0.1:{free_port()}"]
    elif case == "query-without-pacs":
        inputs, out = [str(tmp_path)], str(tmp_path / "o")
        extra += ["--query", "Modality=CT"]
    elif case == "no-ledger":
        extra = []
    elif case == "mixed":
        inputs = [source, str(tmp_path)]
    done = run_deid(tmp_path, "run", "basic", *inputs, "--out", out, *extra, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deid: "), done.stderr
    assert "Traceback" not in done.stderr and "wrong-pw" not in done.stderr
    assert not ledger.exists()
    if case == "401":
        assert "401" in lines[0]
    if case == "unknown-aet":
        assert "rejected" in lines[0]


def test_folder_to_dicomweb(tmp_path, example_files, empty_research):
    """Files in, STOW-RS out: what is not DICOM or is excluded is recorded, never sent."""
    folder = next(p for p in example_files[0].parents if p.name == "export")
    ledger = tmp_path / "ledger"
    env = deid_env(tmp_path, **RESEARCH_ENV)
    done = run_deid(
        tmp_path, "run", "basic", str(folder), "--out", empty_research.dicomweb_url,
        "--ledger", str(ledger), "--workers", "1", env=env,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    rows = ledger_rows(ledger)
    assert len(rows) == len(example_files)
    written = {r["sop_instance_uid_out"] for r in rows if r["status"] == "written"}
    assert written and empty_research.instance_uids() == written
    for row in rows:
        sent = row["destination_status"]
        assert (sent == "STOW-RS stored") == (row["status"] == "written"), row
