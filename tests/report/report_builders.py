"""Builders for the report tests (a module of its own so that tests import it by name)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from deid.cli import main
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.records import FileRecord

REPO = Path(__file__).resolve().parents[2]
HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def run_cli(*args: object) -> tuple[int, str, str]:
    """``deid ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def deid_subprocess(*args: object, stdin=None, shell_tail: str = "") -> subprocess.CompletedProcess:
    """``python -m deid ARGS [| tail]`` as a user runs it (a pipe needs a shell)."""
    command = " ".join(_quote(str(a)) for a in (sys.executable, "-m", "deid", *args))
    return subprocess.run(
        command + shell_tail, shell=True, capture_output=True, text=True, cwd=REPO, timeout=120
    )


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def build_example_run(root: Path) -> dict[str, Path]:
    export = root / "export"
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "make_export.py"), str(export)],
        check=True,
        capture_output=True,
    )
    key = root / "key.hex"
    key.write_text(HEX_KEY + "\n")
    out = root / "out"
    code, stdout, stderr = run_cli(
        "run", "research", export, "--out", out, "--key-file", key, "--workers", 1
    )
    assert code == 1, stderr  # README.txt is quarantined by design
    return {
        "export": export,
        "out": out,
        "ledger": Path(f"{out}.ledger"),
        "stdout": stdout,
        "stderr": stderr,
    }


def image(path: Path, rows: int = 64, columns: int = 96, frames: int = 1) -> str:
    """A small secondary-capture output file with a bright square; returns its SOP UID."""
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    pixels = np.full((frames, rows, columns), 40, np.uint8)
    pixels[:, 10:30, 20:60] = 200
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return ds.SOPInstanceUID


def synthetic_ledger(
    root: Path,
    records: list[FileRecord],
    state: str = "complete",
    planned: int | None = None,
    partition_size: int = 1000,
) -> Path:
    """A ledger written with the pipeline's own writers, without running the pipeline."""
    ledger = root / "out.ledger"
    ledger_mod.ensure_ledger(ledger)
    for index in range(0, max(1, len(records)), partition_size):
        part = records[index : index + partition_size]
        ledger_mod.write_partition(ledger, index // partition_size, f"h{index}", part)
    ledger_mod.write_run_json(
        ledger,
        {
            "state": state,
            "files": len(records) if planned is None else planned,
            "out": str(root / "out"),
            "seconds": 1.0,
            "recipe_name": "research",
        },
    )
    return ledger
