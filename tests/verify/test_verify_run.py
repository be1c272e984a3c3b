"""verify_run and ``deid verify`` over a real ``deid run``: clean, then tampered copies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pydicom
import pytest
from verify_data import PATIENT_NAME, make_dataset, to_bytes, uid

from deid.cli import main
from deid.pipeline.records import FILES_SCHEMA
from deid.recipe import builtin_recipe
from deid.resources import recipes_dir
from deid.verification.check import Finding
from deid.verifyrun.invariants import ledger_findings
from deid.verifyrun.runner import verify_run


@pytest.fixture(scope="module")
def run_tree(tmp_path_factory) -> Path:
    """A finished ``deid run`` (basic recipe) over 4 DICOM files and one text file."""
    root = tmp_path_factory.mktemp("verify-run")
    inputs = root / "in"
    (inputs / "a").mkdir(parents=True)
    (inputs / "b").mkdir()
    (inputs / "a" / "one.dcm").write_bytes(to_bytes(make_dataset(1)))
    (inputs / "a" / "two").write_bytes(to_bytes(make_dataset(2, reference=uid(1))))
    (inputs / "a" / "three.dcm").write_bytes(to_bytes(make_dataset(3, series=2)))
    (inputs / "b" / "other.dcm").write_bytes(
        to_bytes(make_dataset(1, study=2, patient_id="PID-5550001"))
    )
    (inputs / "b" / "notes.txt").write_text("not dicom at all\n")
    key = root / "key"
    key.write_text("ab" * 32)
    code = main(
        [
            "run",
            str(recipes_dir() / "basic.yaml"),
            str(inputs),
            "--out",
            str(root / "out"),
            "--key-file",
            str(key),
            "--workers",
            "1",
        ]
    )
    assert code == 1  # the text file is quarantined
    return root


@pytest.fixture
def tree(run_tree, tmp_path) -> Path:
    """A private copy of the output and ledger (the inputs stay where the ledger says)."""
    shutil.copytree(run_tree / "out", tmp_path / "out")
    shutil.copytree(run_tree / "out.ledger", tmp_path / "out.ledger")
    (tmp_path / "in").symlink_to(run_tree / "in")
    return tmp_path


def _verify(tree: Path, **kwargs):
    inputs = str((tree / "in").resolve())  # the path the ledger recorded
    return verify_run([inputs], tree / "out", tree / "out.ledger", workers=1, **kwargs)


def _outputs(tree: Path) -> list[Path]:
    return sorted((tree / "out").rglob("*.dcm"))


def test_clean_run_has_no_findings(run_tree):
    report = verify_run(
        [str(run_tree / "in")], run_tree / "out", run_tree / "out.ledger", workers=1
    )
    assert report.clean, [f.line() for f in report.findings]
    assert report.inputs == 5
    assert report.ledger_records == 5
    assert report.outputs_checked == 4
    assert dict(report.statuses) == {"written": 4, "quarantined": 1}


def test_cli_exit_codes(run_tree, tree, capsys):
    args = ["verify", "--input", str(run_tree / "in"), "--out", str(run_tree / "out")]
    assert main([*args, "--workers", "1"]) == 0
    assert "findings: 0" in capsys.readouterr().out  # the summary is the result: stdout
    assert main([*args[:-2], "--out", str(tree / "nowhere"), "--workers", "1"]) == 2
    assert "deid:" in capsys.readouterr().err
    (tree / "in2").mkdir()
    (tree / "in2" / "late.dcm").write_bytes(to_bytes(make_dataset(9)))
    code = main(
        ["verify", "--input", str(run_tree / "in"), "--input", str(tree / "in2"),
         "--out", str(tree / "out"), "--workers", "1"]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    # Named by its place among the sorted inputs: input paths often hold patient names.
    assert re.search(r"^input #\d+: ledger: missing-record$", out, re.MULTILINE), out
    assert "late.dcm" not in out and str(tree) not in out
    code = main(
        ["verify", "--input", str(run_tree / "in"), "--input", str(tree / "in2"),
         "--out", str(tree / "out"), "--workers", "1", "--show-input-paths"]
    )  # fmt: skip
    assert code == 1
    out = capsys.readouterr().out
    assert re.search(
        rf"^input #\d+ \[input {re.escape(str(tree / 'in2' / 'late.dcm'))}\]: ledger: "
        "missing-record$",
        out,
        re.MULTILINE,
    ), out


def test_planted_leak_in_one_output(tree):
    target = _outputs(tree)[0]
    ds = pydicom.dcmread(target)
    ds.StudyDescription = f"for {PATIENT_NAME.split('^')[0]}"
    ds.save_as(target, enforce_file_format=True)
    report = _verify(tree)
    relpath = str(target.relative_to(tree / "out"))
    assert report.findings == [Finding(relpath, "StudyDescription", "patient-name")]


def test_dangling_reference(tree):
    target = next(p for p in _outputs(tree) if "ReferencedImageSequence" in pydicom.dcmread(p))
    ds = pydicom.dcmread(target)
    ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "2.25.12345678901234567890"
    ds.save_as(target, enforce_file_format=True)
    report = _verify(tree)
    relpath = str(target.relative_to(tree / "out"))
    assert report.findings == [
        Finding(
            relpath, "ReferencedImageSequence[0].ReferencedSOPInstanceUID", "dangling-reference"
        )
    ]


def test_missing_output_and_ledger_mismatch(tree):
    first, second = _outputs(tree)[:2]
    first.unlink()
    ds = pydicom.dcmread(second)
    ds.SeriesInstanceUID = "2.25.99"
    ds.save_as(second, enforce_file_format=True)
    kinds = sorted((f.path, f.kind) for f in _verify(tree).findings)
    assert kinds == [("SeriesInstanceUID", "ledger-mismatch"), ("file", "missing-output")]


def test_inputs_default_to_the_runs(run_tree, capsys):
    assert main(["verify", "--out", str(run_tree / "out"), "--workers", "1"]) == 0
    assert "inputs: 5, ledger records: 5" in capsys.readouterr().out


def test_orphan_output(tree):
    stray = tree / "out" / "2.25.1" / "stray.dcm"
    stray.parent.mkdir()
    stray.write_bytes(b"leftover")
    report = _verify(tree)
    assert report.findings == [Finding("2.25.1/stray.dcm", "file", "orphan-output")]


def test_recipe_defaults_to_run_json_and_can_be_given(tree):
    assert _verify(tree).clean
    assert _verify(tree, recipe=builtin_recipe("basic")).clean
    # a recipe that keeps less than the run did: the run's output has "leaks" for it
    report = _verify(tree, recipe=recipes_dir() / "retain-uids.yaml")
    assert report.clean  # retain-uids keeps more (UIDs), so nothing new is identifying


def test_distributed_matches_in_process(run_tree):
    report = verify_run(
        [str(run_tree / "in")], run_tree / "out", run_tree / "out.ledger", workers=2,
        partition_size=2,
    )  # fmt: skip
    assert report.clean
    assert (report.inputs, report.ledger_records, report.outputs_checked) == (5, 5, 4)


def _ledger(tmp_path: Path, rows: list[dict]) -> Path:
    ledger = tmp_path / "ledger"
    (ledger / "files").mkdir(parents=True)
    full = [{name: row.get(name) for name in FILES_SCHEMA.names} for row in rows]
    for row in full:
        for name in FILES_SCHEMA.names:
            if row[name] is None and FILES_SCHEMA.field(name).type == pa.string():
                row[name] = ""
    pq.write_table(
        pa.Table.from_pylist(full, schema=FILES_SCHEMA), ledger / "files" / "part-000000.parquet"
    )
    return ledger


def _row(path: str, out: str, sop: tuple, series: tuple, study: tuple) -> dict:
    return {
        "input_path": path,
        "status": "written",
        "output_path": out,
        "sop_instance_uid_in": sop[0],
        "sop_instance_uid_out": sop[1],
        "series_instance_uid_in": series[0],
        "series_instance_uid_out": series[1],
        "study_instance_uid_in": study[0],
        "study_instance_uid_out": study[1],
    }


def test_hierarchy_and_duplicate_records(tmp_path):
    rows = [
        _row("/in/1", "s/a/1.dcm", ("1.1", "2.25.1"), ("1.9", "2.25.9"), ("1.0", "2.25.0")),
        # same original series, another new series: the series was split
        _row("/in/2", "s/b/2.dcm", ("1.2", "2.25.2"), ("1.9", "2.25.8"), ("1.0", "2.25.0")),
        # another original study mapped onto the same new study: studies merged
        _row("/in/3", "s/c/3.dcm", ("1.3", "2.25.3"), ("1.7", "2.25.7"), ("1.5", "2.25.0")),
        _row("/in/3", "s/c/3.dcm", ("1.3", "2.25.3"), ("1.7", "2.25.7"), ("1.5", "2.25.0")),
    ]
    findings = ledger_findings(_ledger(tmp_path, rows))
    duplicate = Finding(
        "ledger part-000000.parquet:2, part-000000.parquet:3", "ledger", "duplicate-record"
    )
    assert duplicate in findings
    (found,) = [f for f in findings if f == duplicate]
    assert "/in/3" not in found.line() and found.input_path == "/in/3"
    assert found.line(show_input_paths=True).startswith(
        "ledger part-000000.parquet:2, part-000000.parquet:3 [input /in/3]: "
    )
    assert Finding("s/a/1.dcm", "SeriesInstanceUID", "series-split") in findings
    assert Finding("s/a/1.dcm", "StudyInstanceUID", "study-merge") in findings
    assert not [f for f in findings if f.kind.startswith("instance")]
    for finding in findings:  # never a UID in a finding
        assert "1.9" not in finding.line() and "2.25.0" not in finding.line()


def test_clean_ledger_hierarchy(tmp_path):
    rows = [
        _row("/in/1", "s/a/1.dcm", ("1.1", "2.25.1"), ("1.9", "2.25.9"), ("1.0", "2.25.0")),
        _row("/in/2", "s/a/2.dcm", ("1.2", "2.25.2"), ("1.9", "2.25.9"), ("1.0", "2.25.0")),
    ]
    assert ledger_findings(_ledger(tmp_path, rows)) == []
