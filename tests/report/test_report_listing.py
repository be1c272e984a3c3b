"""``deid report --quarantined / --status S / --format``: which files, and why."""

from __future__ import annotations

import csv
import io
import json

from report_builders import deid_subprocess, run_cli, synthetic_ledger

from deid.pipeline.records import FileRecord


def _ledger(tmp_path):
    records = [
        FileRecord("/in/a.dcm", "written", output_path="s/e/a.dcm", modality="CT"),
        FileRecord("/in/notes.txt", "quarantined", reason="not DICOM: no DICM magic"),
        FileRecord("/in/doc.dcm", "excluded", reason="Encapsulated PDF: not de-identified"),
        FileRecord("/in/b copy.dcm", "duplicate", reason="duplicate of /in/a.dcm (same UID)"),
        FileRecord("/in/empty", "quarantined", reason="not DICOM: empty file"),
    ]
    return synthetic_ledger(tmp_path, records)


def test_quarantined_lists_paths_and_reasons_as_text(tmp_path):
    code, out, err = run_cli("report", _ledger(tmp_path), "--quarantined")
    assert code == 1 and err == ""
    assert out.splitlines() == [
        "/in/empty\tquarantined\tnot DICOM: empty file",
        "/in/notes.txt\tquarantined\tnot DICOM: no DICM magic",
    ]


def test_status_csv_and_json(tmp_path):
    ledger = _ledger(tmp_path)
    code, out, _ = run_cli("report", ledger, "--status", "written", "--status", "duplicate",
                           "--format", "csv")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and [r["input_path"] for r in rows] == ["/in/a.dcm", "/in/b copy.dcm"]
    assert rows[0]["reason"] == "" and rows[0]["output_path"] == "s/e/a.dcm"
    assert rows[1]["reason"] == "duplicate of /in/a.dcm (same UID)"

    _, out, _ = run_cli("report", ledger, "--status", "excluded", "--format", "json")
    assert json.loads(out) == [
        {
            "input_path": "/in/doc.dcm",
            "status": "excluded",
            "reason": "Encapsulated PDF: not de-identified",
            "output_path": None,  # absent values are nulls
        }
    ]
    both = deid_subprocess("report", ledger, "--status", "excluded", "--quarantined")
    assert both.returncode == 2 and "not allowed with" in both.stderr  # one selection at a time


def test_an_empty_selection_is_valid_output(tmp_path):
    ledger = synthetic_ledger(tmp_path, [FileRecord("/in/a", "written", output_path="x.dcm")])
    assert run_cli("report", ledger, "--quarantined", "--format", "json")[1] == "[]\n"
    assert run_cli("report", ledger, "--quarantined", "--format", "csv")[1] == (
        "input_path,status,reason,output_path\n"
    )


def test_an_unknown_status_is_a_usage_error(tmp_path):
    code = deid_subprocess("report", _ledger(tmp_path), "--status", "lost")
    assert code.returncode == 2 and code.stderr.count("\n") == 1 and "invalid choice" in code.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    records = [FileRecord(f"/in/{i:06d}", "quarantined", reason="not DICOM") for i in range(12000)]
    ledger = synthetic_ledger(tmp_path, records, partition_size=4000)
    for args in (["--quarantined"], ["--quarantined", "--format", "json"], []):
        done = deid_subprocess("report", ledger, *args, shell_tail=" | head -n 1")
        assert done.stdout.count("\n") == 1, args
        assert done.stderr == "", (args, done.stderr)  # no BrokenPipeError, no traceback
