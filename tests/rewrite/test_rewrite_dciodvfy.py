"""dciodvfy finds no new errors in de-identified output (errors out <= errors in)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pydicom
import pytest
from pydicom.data import get_testdata_file
from rewrite_support import shipped

from deid.rewrite.engine import deidentify
from deid.rewrite.keyring import KeyRing
from deid.rewrite.writer import write_atomic

pytestmark = pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy not installed")

FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "rtdose.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
    "emri_small.dcm",
    "eCT_Supplemental.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm",
    "US1_UNCR.dcm",
    "SC_rgb.dcm",
]


def _errors(path) -> set[str]:
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = set()
    for line in (run.stdout + run.stderr).splitlines():
        if not line.startswith("Error"):
            continue
        line = re.sub(r"\"[^\"]*\"", '""', line)  # quoted values
        line = re.sub(r"[\d.]*\d", "N", line)  # UIDs, counts, lengths, item numbers
        lines.add(line)
    return lines


@pytest.mark.parametrize("recipe_name", ["basic", "research"])
@pytest.mark.parametrize("name", FILES)
def test_no_new_dciodvfy_errors(name, recipe_name, tmp_path) -> None:
    source = get_testdata_file(name)
    before = _errors(source)
    ds = pydicom.dcmread(source, force=True)
    deidentify(ds, shipped(recipe_name), KeyRing(b"dciodvfy"))
    out = tmp_path / "out.dcm"
    write_atomic(ds, out)
    new = _errors(out) - before
    assert not new, "\n".join(sorted(new))


@pytest.mark.parametrize("recipe_name", ["basic", "research"])
def test_dicomdir_only_loses_its_file_references(recipe_name, tmp_path) -> None:
    """Referenced File IDs are removed on purpose (they name input paths): that is the only
    new complaint; Type 1/2 keys of the records stay present (see deid.rewrite.dicomdir)."""
    source = get_testdata_file("DICOMDIR")
    before = _errors(source)
    ds = pydicom.dcmread(source)
    deidentify(ds, shipped(recipe_name), KeyRing(b"dciodvfy"))
    out = tmp_path / "DICOMDIR"
    write_atomic(ds, out)
    new = _errors(out) - before
    assert all("ReferencedFileID" in line for line in new), "\n".join(sorted(new))
