"""C-MOVE to deid's own Storage SCP (``--move-to AET:PORT``) from a real Orthanc that knows
deid's AE title at that port."""

from __future__ import annotations

import pytest
from pacs_run import deid_env, ledger_rows, run_deid
from pacs_servers import OrthancServer, free_port


@pytest.fixture
def moving_source(tmp_path, orthanc_pair, example_files):  # orthanc_pair: skips without Orthanc
    port = free_port()
    server = OrthancServer(
        "moving", "MOVER", tmp_path / "orthanc", peers={"deid": ("DEID-SCP", "127.0.0.1", port)}
    )
    try:
        server.start()
        for path in example_files:
            server.upload(path.read_bytes())
        yield server, port
    finally:
        server.stop()


def test_cmove_to_a_folder(tmp_path, moving_source):
    server, port = moving_source
    out = tmp_path / "out"
    done = run_deid(
        tmp_path, "run", "basic", server.dimse_url, "--move-to", f"DEID-SCP:{port}",
        "--out", str(out), "--workers", "2", env=deid_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(tmp_path / "out.ledger")
    assert {r["input_path"].rsplit("/instances/", 1)[1] for r in rows} == server.instance_uids()
    written = [r for r in rows if r["status"] == "written"]
    assert len(list(out.rglob("*.dcm"))) == len(written) == len(rows) - 1


def test_move_to_needs_a_dimse_input(tmp_path, clinical):
    done = run_deid(
        tmp_path, "run", "basic", clinical.dicomweb_url, "--move-to", "DEID:11113",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert done.returncode == 2 and "--move-to" in done.stderr, done.stderr
