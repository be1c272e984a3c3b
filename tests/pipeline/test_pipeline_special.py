"""Inputs that are DICOM but not images: DICOMDIRs in several folders, excluded SOP classes."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import pydicom
from pipeline_builders import BASIC, make_image, save
from pipeline_helpers import ledger_rows, output_files, run_cli
from pydicom.data import get_testdata_file

from deid.pipeline.per_file import DICOMDIR_REASON
from deid.pipeline.progress import RunProgress

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"


def test_dicomdirs_and_excluded_files(tmp_path, key_file):
    src = tmp_path / "in"
    dicomdir = Path(get_testdata_file("DICOMDIR"))
    for folder in ("cd1", "cd2"):
        (src / folder).mkdir(parents=True)
        shutil.copyfile(dicomdir, src / folder / "DICOMDIR")
    changed = pydicom.dcmread(src / "cd2" / "DICOMDIR")
    changed.FileSetID = "OTHERSET"
    (src / "cd3").mkdir()
    changed.save_as(src / "cd3" / "DICOMDIR")
    pdf = make_image()
    pdf.SOPClassUID = ENCAPSULATED_PDF
    save(pdf, src / "report.dcm")
    save(make_image(), src / "image.dcm")

    code = run_cli(
        "run", BASIC, src, "--out", tmp_path / "out", "--key-file", key_file, "--workers", 1
    )
    rows = {
        str(Path(r["input_path"]).relative_to(src)): r for r in ledger_rows(tmp_path / "out.ledger")
    }
    assert set(rows) == {"cd1/DICOMDIR", "cd2/DICOMDIR", "cd3/DICOMDIR", "report.dcm", "image.dcm"}
    assert rows["report.dcm"]["status"] == "excluded"
    assert rows["report.dcm"]["reason"].startswith("Encapsulated PDF")
    assert rows["image.dcm"]["status"] == "written"
    dirs = [rows[f"cd{n}/DICOMDIR"] for n in (1, 2, 3)]
    # An input DICOMDIR indexes the input's files; the output's are named by their new UIDs,
    # so a copy would point at nothing: excluded, with a reason that says how to get one.
    assert code == 0
    for row in dirs:
        assert row["status"] == "excluded" and row["output_path"] is None
        assert row["reason"] == DICOMDIR_REASON and "deid report LEDGER --dicomdir" in row["reason"]
    assert len(output_files(tmp_path / "out")) == 1  # the image


def test_file_names_that_are_not_utf8(tmp_path, key_file):
    """A name the OS gives back with surrogates must not fail its partition's ledger write
    (it did, on every rerun, losing every file of the partition) nor ``deid verify``."""
    src = tmp_path / "in"
    src.mkdir()
    odd = Path(os.fsdecode(bytes(src) + b"/scan-\xff\xfe.dcm"))
    save(make_image(patient_id="PAT001"), odd)
    save(make_image(patient_id="PAT002"), src / "plain.dcm")
    out = tmp_path / "out"

    assert run_cli("run", BASIC, src, "--out", out, "--key-file", key_file, "--workers", 1) == 0
    rows = {r["input_path"]: r for r in ledger_rows(tmp_path / "out.ledger")}
    assert set(rows) == {str(src / "plain.dcm"), str(src / "scan-\\udcff\\udcfe.dcm")}
    assert all(r["status"] == "written" for r in rows.values())
    assert len(output_files(out)) == 2
    assert run_cli("verify", "--out", out, "--workers", 1) == 0


def test_progress_bar_and_plain_lines():
    stream = StringIO()
    bar = RunProgress(10, stream, tty=True)
    bar.add(4, 1)
    bar.set_done(10, 2)
    bar.close()
    assert bar.done == 10 and bar.quarantined == 2
    plain = StringIO()
    lines = RunProgress(3, plain, tty=False)
    lines.add(3, 1)
    lines.add(0)
    lines.close()
    (line,) = plain.getvalue().splitlines()  # one line when done, not one per call
    assert line.startswith("deid: 3/3 files") and line.endswith("1 quarantined")
