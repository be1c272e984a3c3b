"""DICOMDIRs: input ones are excluded with a reason that says how to get one; ``deid report
LEDGER --dicomdir DIR`` builds a valid file-set over the output."""

from __future__ import annotations

import re
import shutil
import subprocess

import pydicom
import pytest
from pydicom.fileset import FileSet
from report_builders import run_cli

from deid.pipeline.per_file import DICOMDIR_REASON


def _rows(ledger):
    import pyarrow.parquet as pq

    return [
        r
        for p in sorted((ledger / "files").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]


def test_an_input_dicomdir_is_excluded_with_how_to_get_one(example_run):
    rows = {r["input_path"]: r for r in _rows(example_run["ledger"])}
    row = rows[str(example_run["export"] / "PAT1" / "CD" / "DICOMDIR")]
    assert row["status"] == "excluded" and row["reason"] == DICOMDIR_REASON
    assert "--dicomdir" in row["reason"] and row["output_path"] is None
    assert not any("no-study" in str(p) for p in example_run["out"].rglob("*"))


def test_dicomdir_builds_a_valid_file_set_over_the_output(example_run, tmp_path):
    dest = tmp_path / "fileset"
    code, _, err = run_cli("report", example_run["ledger"], "--dicomdir", dest)
    written = [r for r in _rows(example_run["ledger"]) if r["status"] == "written"]
    assert code == 1 and f"over {len(written)} file(s)" in err  # exit code as the run
    fs = FileSet(pydicom.dcmread(dest / "DICOMDIR"))
    assert len(fs) == len(written)
    expected = {r["sop_instance_uid_out"] for r in written}
    assert {i.SOPInstanceUID for i in fs} == expected
    for instance in fs:
        assert (dest / instance.FileID).is_file()
        # a valid File ID: at most 8 components of 1-8 characters from A-Z 0-9 _
        assert re.fullmatch(r"[A-Z0-9_]{1,8}(/[A-Z0-9_]{1,8}){0,7}", instance.FileID)
    # the copies are the outputs, byte for byte (only the records carry fallback values)
    by_uid = {r["sop_instance_uid_out"]: example_run["out"] / r["output_path"] for r in written}
    for instance in fs:
        copy = pydicom.dcmread(instance.path)
        original = pydicom.dcmread(by_uid[instance.SOPInstanceUID])
        assert copy == original
    if shutil.which("dciodvfy"):
        done = subprocess.run(["dciodvfy", str(dest / "DICOMDIR")], capture_output=True, text=True)
        errors = [line for line in (done.stdout + done.stderr).splitlines() if "Error" in line]
        assert errors == []


@pytest.mark.parametrize("where", ["out", "ledger"])
def test_dicomdir_is_refused_inside_the_output_or_ledger(example_run, where):
    folder = example_run["out"] if where == "out" else example_run["ledger"]
    code, _, err = run_cli("report", example_run["ledger"], "--dicomdir", folder / "fs")
    assert code == 2 and f"inside the run's {where if where == 'ledger' else 'output'}" in err
    assert not (folder / "fs").exists()
