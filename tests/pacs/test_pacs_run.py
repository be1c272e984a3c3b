"""``deid run`` from a PACS to a PACS (or a folder) against the real Orthanc pair."""

from __future__ import annotations

import pytest
from pacs_run import RESEARCH_ENV, deid_env, ledger_rows, run_deid


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
    rows = ledger_rows(ledger)
    _check_exactly_once(rows, clinical, empty_research.instance_uids(), "STOW-RS stored")
    assert all(r["input_path"].startswith(clinical.dicomweb_url + "/studies/") for r in rows)
    assert "password" not in (ledger / "run.json").read_text()
    # The same command again: every partition done, nothing fetched or sent twice.
    again = run_deid(tmp_path, *args, "--ledger", str(ledger), env=env)
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stderr
    assert len(ledger_rows(ledger)) == len(rows)
