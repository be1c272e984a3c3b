"""``deid run`` end to end on a LocalCluster: ledger, outputs, mappings, bad inputs, keys."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pydicom
from pipeline_builders import BASIC, HEX_KEY, make_export, make_image, save
from pipeline_helpers import dataset_uids, ledger_rows, output_files, run_cli, uid_map
from pydicom.uid import ImplicitVRLittleEndian

from deid.rewrite.keyring import KeyRing


def test_end_to_end_every_input_once_and_uids_mapped(tmp_path, export, key_file, capsys):
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    inputs = sorted(str(p) for p in export.rglob("*") if p.is_file())
    code = run_cli(
        "run",
        BASIC,
        export,
        "--out",
        out,
        "--key-file",
        key_file,
        "--workers",
        2,
        "--partition-size",
        2,
    )
    assert code == 0
    summary = capsys.readouterr().out  # the summary is the result: stdout
    assert "written             6" in summary and str(ledger) in summary

    rows = ledger_rows(ledger)
    assert sorted(r["input_path"] for r in rows) == inputs  # each input exactly once
    assert {r["status"] for r in rows} == {"written"}
    assert sorted(out / r["output_path"] for r in rows) == output_files(out)

    mapping = uid_map(ledger)
    for row in rows:
        original = pydicom.dcmread(row["input_path"])
        written = pydicom.dcmread(out / row["output_path"])
        assert written.PatientID != original.PatientID
        out_uids = dataset_uids(written) | {str(written.file_meta.MediaStorageSOPInstanceUID)}
        for uid in dataset_uids(original):
            assert uid in mapping, "an original UID is missing from the uid table"
            assert mapping[uid] in out_uids
            assert uid not in out_uids
        assert row["output_path"] == (
            f"{written.StudyInstanceUID}/{written.SeriesInstanceUID}/{written.SOPInstanceUID}.dcm"
        )
        assert row["sop_instance_uid_in"] == original.SOPInstanceUID
        assert row["sop_instance_uid_out"] == written.SOPInstanceUID
        assert row["patient_id_in"] == original.PatientID

    run_json = json.loads((ledger / "run.json").read_text())
    assert run_json["state"] == "complete"
    assert run_json["key_fingerprint"] == KeyRing(bytes.fromhex(HEX_KEY)).fingerprint()
    assert HEX_KEY not in (ledger / "run.json").read_text()
    assert run_json["counts"]["written"] == 6
    for path in [ledger, *ledger.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path

    maps = tmp_path / "maps"
    assert run_cli("ledger", "export-mappings", ledger, "--out", maps) == 0
    with (maps / "uid_mapping.csv").open() as handle:
        uid_rows = list(csv.reader(handle))
    assert uid_rows[0] == ["id_old", "id_new", "kind"]  # MIDI-B's two columns first
    assert {r[0]: r[1] for r in uid_rows[1:]} == mapping
    with (maps / "patid_mapping.csv").open() as handle:
        pat_rows = list(csv.reader(handle))
    assert pat_rows[0] == ["id_old", "id_new"]
    assert [r[0] for r in pat_rows[1:]] == ["PAT000", "PAT001"]

    capsys.readouterr()
    assert run_cli("report", ledger) == 0
    assert "written             6" in capsys.readouterr().out


def test_bad_inputs_are_quarantined_and_the_batch_completes(tmp_path, key_file, capsys):
    src = tmp_path / "in"
    make_export(src, patients=1, images=2)
    good = save(make_image(patient_id="RAW1"), src / "bare" / "no_preamble", preamble=False)
    (src / "empty").write_bytes(b"")
    (src / "notes.txt").write_text("Patient John Doe, seen 2024-01-31\n" * 20)
    whole = save(make_image(), tmp_path / "whole.dcm").read_bytes()
    (src / "truncated").write_bytes(whole[:705])
    os.symlink(src, src / "bare" / "loop")  # directory symlink loop
    os.symlink(tmp_path / "vanished", src / "dangling")  # a path that is gone when read
    os.mkfifo(src / "fifo")  # root can open it, but nobody ever writes: must not hang
    code = run_cli(
        "run",
        BASIC,
        src,
        "--out",
        tmp_path / "out",
        "--key-file",
        key_file,
        "--workers",
        1,
        "--file-timeout",
        30,
    )
    assert code == 1
    rows = {Path(r["input_path"]).name: r for r in ledger_rows(tmp_path / "out.ledger")}
    assert set(rows) == {
        "IM0000",
        "IM0001",
        "no_preamble",
        "empty",
        "notes.txt",
        "truncated",
        "dangling",
        "fifo",
    }
    assert rows["no_preamble"]["status"] == "written"
    assert rows["IM0000"]["status"] == rows["IM0001"]["status"] == "written"
    assert rows["empty"]["reason"] == "not DICOM: empty file"
    assert rows["notes.txt"]["reason"].startswith("not DICOM")
    assert rows["dangling"]["reason"] == "input not found: missing, vanished or a dangling link"
    assert rows["fifo"]["reason"] == "not a regular file: FIFO"
    assert rows["truncated"]["status"] == "quarantined" and rows["truncated"]["reason"]
    for row in rows.values():
        assert "\n" not in (row["reason"] or "") and "Doe" not in (row["reason"] or "")
    written = pydicom.dcmread(tmp_path / "out" / rows["no_preamble"]["output_path"])
    assert written.file_meta.TransferSyntaxUID and written.PatientID != "RAW1"
    assert good.exists()
    out = capsys.readouterr().out
    assert "quarantined         5" in out


def test_duplicate_sop_instance_uid_one_winner_whatever_the_partitioning(tmp_path, key_file):
    src = tmp_path / "in"
    twin = make_image(sop_uid="1.2.3.4.5.6.7.8.9")
    save(twin, src / "b_explicit")
    save(
        make_image(
            sop_uid="1.2.3.4.5.6.7.8.9",
            study_uid=twin.StudyInstanceUID,
            series_uid=twin.SeriesInstanceUID,
        ),
        src / "a_implicit",
        syntax=ImplicitVRLittleEndian,
    )
    save(make_image(), src / "c_other")
    results = []
    for size in (1, 5):
        out = tmp_path / f"out{size}"
        assert (
            run_cli(
                "run",
                BASIC,
                src,
                "--out",
                out,
                "--key-file",
                key_file,
                "--workers",
                2,
                "--partition-size",
                size,
            )
            == 0
        )
        rows = {Path(r["input_path"]).name: r for r in ledger_rows(tmp_path / f"out{size}.ledger")}
        assert rows["a_implicit"]["status"] == "written"
        assert rows["b_explicit"]["status"] == "duplicate"
        assert rows["b_explicit"]["output_path"] == rows["a_implicit"]["output_path"]
        files = output_files(out)
        assert len(files) == 2
        winner = out / rows["a_implicit"]["output_path"]
        assert pydicom.dcmread(winner).file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
        results.append(winner.read_bytes())
    assert results[0] == results[1]


def test_resolver_replaces_a_file_written_by_the_losing_input(tmp_path, key_file):
    """The later-sorting twin got there first (an earlier run into the same output): the
    run hands the name to the input that sorts first, and says so in its ledger."""
    src = tmp_path / "in"
    twin = make_image(sop_uid="1.2.3.4.5.6.7.8.10")
    save(twin, src / "z_late", syntax=ImplicitVRLittleEndian)
    args = ("--out", tmp_path / "out", "--key-file", key_file, "--workers", 1)
    assert run_cli("run", BASIC, src / "z_late", *args, "--ledger", tmp_path / "l1") == 0
    save(twin, src / "a_early")
    assert run_cli("run", BASIC, src, *args, "--ledger", tmp_path / "l2") == 0
    rows = {Path(r["input_path"]).name: r for r in ledger_rows(tmp_path / "l2")}
    assert (rows["a_early"]["status"], rows["z_late"]["status"]) == ("written", "duplicate")
    (only,) = output_files(tmp_path / "out")
    assert pydicom.dcmread(only).file_meta.TransferSyntaxUID != ImplicitVRLittleEndian
    # The same ledger with another input set is refused: it would orphan outputs.
    assert run_cli("run", BASIC, src / "z_late", *args, "--ledger", tmp_path / "l2") == 2


def test_key_sources(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    save(make_image(sop_uid="1.2.3.99"), src / "one")

    def sop_out(name: str, *extra) -> str:
        assert run_cli("run", BASIC, src, "--out", tmp_path / name, "--workers", 1, *extra) == 0
        (row,) = ledger_rows(tmp_path / f"{name}.ledger")
        return row["sop_instance_uid_out"]

    key_file = tmp_path / "k"
    key_file.write_text(HEX_KEY + "\n\n")
    from_file = sop_out("file", "--key-file", key_file)
    assert from_file == KeyRing(bytes.fromhex(HEX_KEY)).uid("1.2.3.99")
    monkeypatch.setenv("DEID_KEY", HEX_KEY)
    assert sop_out("env") == from_file
    monkeypatch.delenv("DEID_KEY")
    capsys.readouterr()
    generated = sop_out("gen")
    assert "created a new key" in capsys.readouterr().err
    assert generated != from_file
    assert sop_out("gen") == generated  # the ledger's key is reused
    assert "created a new key" not in capsys.readouterr().err
    assert stat.S_IMODE((tmp_path / "gen.ledger" / "key").stat().st_mode) == 0o600
    # The same ledger with another key is refused (it would mix two mappings).
    assert run_cli("run", BASIC, src, "--out", tmp_path / "gen", "--key-file", key_file) == 2
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    assert run_cli("run", BASIC, src, "--out", tmp_path / "x", "--key-file", empty) == 2


def test_usage_errors_exit_2_and_process_nothing(tmp_path, key_file, capsys):
    src = tmp_path / "in"
    save(make_image(), src / "one")
    assert run_cli("run", BASIC, src, "--out", src / "out", "--key-file", key_file) == 2
    assert (
        run_cli(
            "run",
            BASIC,
            src,
            "--out",
            tmp_path / "o",
            "--ledger",
            tmp_path / "o" / "l",
            "--key-file",
            key_file,
        )
        == 2
    )
    assert run_cli("run", tmp_path / "missing.yaml", src, "--out", tmp_path / "o") == 2
    assert run_cli("run", BASIC, tmp_path / "nope", "--out", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert all(line.startswith("deid: ") for line in err.strip().splitlines())
    assert not (tmp_path / "o").exists() and not (src / "out").exists()


def test_dry_run_plans_without_processing(tmp_path, capsys):
    manifest = tmp_path / "paths.txt"
    manifest.write_text("".join(f"/nowhere/{i}\n" for i in range(1001)))
    assert (
        run_cli(
            "run",
            BASIC,
            "--manifest",
            manifest,
            "--out",
            tmp_path / "o",
            "--dry-run",
            "--partition-size",
            100,
        )
        == 0
    )
    assert "1001 input file(s) in 11 partition(s)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.ledger").exists()


def test_one_run_per_ledger_at_a_time(tmp_path, key_file, capsys):
    from deid.pipeline.ledger import ensure_ledger, exclusive

    src = tmp_path / "in"
    save(make_image(), src / "one")
    ledger = tmp_path / "out.ledger"
    ensure_ledger(ledger)
    with exclusive(ledger):
        code = run_cli("run", BASIC, src, "--out", tmp_path / "out", "--key-file", key_file)
    assert code == 2
    assert "another deid run is using the ledger" in capsys.readouterr().err
    assert not list(ledger.glob("files/*.parquet"))
