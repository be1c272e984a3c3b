"""``deid report`` exits as a finished run did (0/1) and with codes of its own otherwise."""

from __future__ import annotations

import pytest
from report_builders import run_cli, synthetic_ledger

from deid.pipeline import ledger as ledger_mod
from deid.pipeline.records import FileRecord
from deid.pipeline.summary import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_RUNNING


def _records(quarantined: int = 0) -> list[FileRecord]:
    rows = [FileRecord(f"/in/{i}.dcm", "written", output_path=f"a/{i}.dcm") for i in range(3)]
    rows += [FileRecord(f"/in/q{i}", "quarantined", reason="not DICOM") for i in range(quarantined)]
    return rows


def test_the_codes_are_distinct_and_neither_0_nor_1():
    codes = {EXIT_RUNNING, EXIT_INTERRUPTED, EXIT_INCOMPLETE}
    assert len(codes) == 3 and not codes & {0, 1, 2, 130}


@pytest.mark.parametrize(
    ("quarantined", "expected"), [(0, 0), (2, 1)], ids=["clean", "quarantined"]
)
def test_a_complete_run_exits_as_the_run_did(tmp_path, quarantined, expected):
    ledger = synthetic_ledger(tmp_path, _records(quarantined))
    code, out, err = run_cli("report", ledger)
    assert code == expected and "run state" not in out
    assert f"quarantined {quarantined:>9}" in out and err == ""


def test_a_run_holding_the_ledger_is_running(tmp_path):
    ledger = synthetic_ledger(tmp_path, _records(1), state="running", planned=10)
    with ledger_mod.exclusive(ledger):  # what a live deid run holds for its whole life
        code, out, _ = run_cli("report", ledger)
    assert code == EXIT_RUNNING
    assert "run state: running" in out and "4 of 10 planned files" in out


@pytest.mark.parametrize("state", ["running", "interrupted"])
def test_a_killed_or_interrupted_run_is_interrupted(tmp_path, state):
    """run.json says running (killed with -9) or interrupted (Ctrl-C), nobody holds it."""
    ledger = synthetic_ledger(tmp_path, _records(), state=state, planned=10)
    code, out, _ = run_cli("report", ledger)
    assert code == EXIT_INTERRUPTED
    assert "run state: interrupted" in out and "rerun the same command" in out


def test_failed_partitions_or_missing_files_are_incomplete(tmp_path):
    ledger = synthetic_ledger(tmp_path / "a", _records(), state="incomplete")
    assert run_cli("report", ledger)[0] == EXIT_INCOMPLETE
    ledger = synthetic_ledger(tmp_path / "b", _records(), state="complete", planned=7)
    code, out, _ = run_cli("report", ledger)
    assert code == EXIT_INCOMPLETE and "3 of 7 planned files" in out


def test_json_summary_names_state_and_code(tmp_path):
    import json

    ledger = synthetic_ledger(tmp_path, _records(1), state="interrupted", planned=9)
    code, out, _ = run_cli("report", ledger, "--format", "json")
    data = json.loads(out)
    assert code == EXIT_INTERRUPTED == data["exit_code"]
    assert data["state"] == "interrupted" and data["files"] == 4 and data["planned"] == 9
    code, out, _ = run_cli("report", ledger, "--format", "csv")
    assert out.splitlines()[:3] == ["status,files", "written,3", "quarantined,1"]


def test_help_documents_the_codes():
    import contextlib
    import io

    from deid.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(buffer.getvalue().split())
    assert "3 a run is writing the ledger now" in text and "4 the run was interrupted" in text
    assert "5 the run is incomplete" in text
