"""``deid run`` PACS to PACS when things go wrong mid-run: the run is killed with -9, or the
receiving archive stops. Both need a batch long enough to be interrupted, so each test seeds
its own source server and receives into its own (slow: about 20 s each)."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pacs_helpers import fresh_instance
from pacs_run import deid_env, kill_group, ledger_rows, run_deid, start_deid, wait_for
from pacs_servers import OrthancServer
from pydicom.uid import generate_uid

pytestmark = pytest.mark.slow

SERIES, PER_SERIES = 40, 3


@pytest.fixture
def source_and_dest(tmp_path, orthanc_pair):  # orthanc_pair: skips without Orthanc
    source = OrthancServer("source", "SOURCE", tmp_path / "source")
    dest = OrthancServer("dest", "DEST", tmp_path / "dest")
    try:
        source.start()
        dest.start()
        for _ in range(SERIES):
            first, _uid = fresh_instance()
            ds = pydicom.dcmread(BytesIO(first))
            for _n in range(PER_SERIES):
                ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
                out = BytesIO()
                ds.save_as(out, enforce_file_format=True)
                assert source.upload(out.getvalue())
        yield source, dest
    finally:
        source.stop()
        dest.stop()


def _args(source, dest, ledger):
    return (
        "run", "basic", source.dicomweb_url, "--out", dest.dicomweb_url, "--ledger", str(ledger),
        "--workers", "1", "--partition-size", "2",
    )  # fmt: skip


def _complete(rows, source, dest) -> None:
    """Every source instance exactly once in the ledger, written and stored; the destination
    holds exactly the written instances."""
    pulled = [r["input_path"].rsplit("/instances/", 1)[1] for r in rows]
    assert len(pulled) == len(set(pulled)) == SERIES * PER_SERIES
    assert set(pulled) == source.instance_uids()
    assert {r["status"] for r in rows} == {"written"}, {r["reason"] for r in rows}
    assert dest.instance_uids() == {r["sop_instance_uid_out"] for r in rows}
    assert all(r["destination_status"] == "STOW-RS stored" for r in rows)


def test_kill_9_mid_run_then_rerun(tmp_path, source_and_dest):
    source, dest = source_and_dest
    ledger = tmp_path / "ledger"
    run = start_deid(tmp_path, *_args(source, dest, ledger))
    try:
        assert wait_for(lambda: len(dest.instance_uids()) >= 12, timeout=120), run.poll()
    finally:
        kill_group(run)
    assert run.returncode == -9
    stored_before = len(dest.instance_uids())
    assert 0 < stored_before < SERIES * PER_SERIES
    again = run_deid(tmp_path, *_args(source, dest, ledger))
    assert again.returncode == 0, again.stderr
    _complete(ledger_rows(ledger), source, dest)


def test_destination_stopped_mid_run_then_back(tmp_path, source_and_dest):
    source, dest = source_and_dest
    ledger = tmp_path / "ledger"
    env = deid_env(tmp_path)
    run = start_deid(tmp_path, *_args(source, dest, ledger), env=env)
    assert wait_for(lambda: len(dest.instance_uids()) >= 12, timeout=120), run.poll()
    dest.stop()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stderr
    rows = ledger_rows(ledger)
    assert len(rows) == SERIES * PER_SERIES  # none lost: each written or quarantined
    quarantined = [r for r in rows if r["status"] == "quarantined"]
    assert quarantined and all("rerun" in r["reason"] for r in quarantined)
    assert all("STOW-RS" in r["reason"] for r in quarantined)
    stored_first = {r["input_path"]: r["seconds"] for r in rows if r["status"] == "written"}
    dest.start(keep_ports=True)
    again = run_deid(tmp_path, *_args(source, dest, ledger), env=env)
    assert again.returncode == 0, again.stderr
    assert "transient" in again.stderr
    rows = ledger_rows(ledger)
    _complete(rows, source, dest)
    # What the first run stored is kept as recorded (not fetched, processed or sent again).
    assert {r["input_path"]: r["seconds"] for r in rows if r["input_path"] in stored_first} == (
        stored_first
    )


def test_source_stopped_mid_run_then_back(tmp_path, source_and_dest):
    """The clinical archive goes away while workers fetch: the instances not fetched are
    quarantined (or their partitions fail, if a listing met the outage) and none is lost;
    the rerun once it is back completes the batch."""
    source, dest = source_and_dest
    ledger = tmp_path / "ledger"
    run = start_deid(tmp_path, *_args(source, dest, ledger))
    assert wait_for(lambda: len(dest.instance_uids()) >= 12, timeout=120), run.poll()
    source.stop()
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stderr
    rows = ledger_rows(ledger)
    assert len(rows) < SERIES * PER_SERIES or any(r["status"] == "quarantined" for r in rows)
    assert all("rerun" in r["reason"] for r in rows if r["status"] == "quarantined")
    source.start(keep_ports=True)
    again = run_deid(tmp_path, *_args(source, dest, ledger))
    assert again.returncode == 0, again.stderr
    _complete(ledger_rows(ledger), source, dest)
