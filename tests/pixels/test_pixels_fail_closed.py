"""No fail-open in the pixel path: when the pixel step cannot import, or the OCR engine is
missing or fails, the file is quarantined with a one-line reason, never written unchanged.

The in-process cases poison ``sys.modules``; the CLI cases run ``deid run`` in a fresh
interpreter whose ``PYTHONPATH`` starts with a folder of modules that refuse to import (the
forkserver children inherit it), so the whole pipeline meets the broken environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pixels_helpers import build

import deid.pixels.tesseract as tesseract_module
from deid import KeyRing, deidentify
from deid.pixels import clean_pixels
from deid.pixels.ocr import OcrCache
from deid.recipe.loader import load_recipe
from deid.recipe.model import PixelSettings
from deid.rewrite.quarantine import QuarantineError

REPO = Path(__file__).resolve().parents[2]
RESEARCH = REPO / "recipes" / "research.yaml"


def _fresh_engine(monkeypatch) -> None:
    """Forget this thread's engines so the next call starts Tesseract again."""
    monkeypatch.setattr(tesseract_module, "_local", type(tesseract_module._local)())


def test_pixel_step_that_does_not_import_quarantines(monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "deid.pixels" or m.startswith("deid.pixels.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now raises ImportError
    ds, _ = build("mono8")
    ds.Modality = "US"
    with pytest.raises(QuarantineError) as caught:
        deidentify(ds, load_recipe(RESEARCH), KeyRing(b"k" * 32))
    assert "Clean Pixel Data cannot run" in str(caught.value)
    assert "cv2" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("with_text", [True, False])
def test_missing_ocr_binding_quarantines(monkeypatch, with_text: bool) -> None:
    _fresh_engine(monkeypatch)
    monkeypatch.setitem(sys.modules, "tesserocr", None)
    ds, _ = build("mono8")
    if not with_text:
        ds.PixelData = bytes(len(ds.PixelData))
    pixel_bytes = ds.PixelData
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert not outcome.changed and ds.PixelData is pixel_bytes
    assert outcome.quarantine_reason == ("OCR engine unavailable (tesserocr does not import)")


def test_missing_language_data_quarantines(monkeypatch, tmp_path) -> None:
    _fresh_engine(monkeypatch)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert outcome.quarantine_reason == "OCR engine unavailable (no eng.traineddata for Tesseract)"


def test_engine_that_dies_mid_read_quarantines(monkeypatch) -> None:
    class Dying:
        def SetImageBytes(self, *args) -> None:
            raise RuntimeError("engine crashed reading SMITH^JOHN")

    monkeypatch.setattr(tesseract_module, "_api", lambda psm: Dying())
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.quarantine_reason == "OCR failed (RuntimeError)"
    assert not outcome.changed


def test_engine_that_times_out_quarantines(monkeypatch) -> None:
    class Slow:
        def SetImageBytes(self, *args) -> None:
            pass

        def Recognize(self, timeout: int) -> bool:
            return False  # what tesserocr returns when the time-out cancels recognition

    monkeypatch.setattr(tesseract_module, "_api", lambda psm: Slow())
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.quarantine_reason == "OCR failed (recognition timed out or was cancelled)"


def _run_poisoned(tmp_path: Path, poison: dict[str, str], env: dict[str, str] | None = None):
    """``deid run research`` over one US file with burned-in text, in a broken environment."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    ds, _ = build("mono8")
    ds.Modality = "US"
    ds.save_as(inputs / "us.dcm", enforce_file_format=True)
    poisoned = tmp_path / "poisoned"
    poisoned.mkdir()
    for module, body in poison.items():
        (poisoned / f"{module}.py").write_text(body)
    child_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(poisoned), str(REPO)]))
    child_env.update(env or {})
    out, ledger = tmp_path / "out", tmp_path / "ledger"
    command = [sys.executable, "-m", "deid", "run", str(RESEARCH), str(inputs)]
    command += ["--out", str(out), "--ledger", str(ledger), "--workers", "1"]
    command += ["--key-file", str(_key(tmp_path))]
    proc = subprocess.run(
        command,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    rows = [
        r
        for p in sorted((ledger / "files").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    return proc, rows, written


def _key(tmp_path: Path) -> Path:
    key = tmp_path / "key.hex"
    key.write_text("ab" * 32)
    return key


def test_cli_quarantines_when_opencv_does_not_import(tmp_path) -> None:
    proc, rows, written = _run_poisoned(
        tmp_path, {"cv2": "raise ImportError('libGL.so.1: cannot open shared object file')"}
    )
    assert proc.returncode == 1, proc.stderr
    assert written == []
    assert [r["status"] for r in rows] == ["quarantined"]
    assert rows[0]["reason"] == "Clean Pixel Data cannot run: cv2 does not import"


def test_cli_quarantines_when_the_ocr_engine_is_missing(tmp_path) -> None:
    proc, rows, written = _run_poisoned(tmp_path, {"tesserocr": "raise ImportError('gone')"})
    assert proc.returncode == 1, proc.stderr
    assert written == []
    assert [r["reason"] for r in rows] == ["OCR engine unavailable (tesserocr does not import)"]


def test_cli_quarantines_when_tesseract_has_no_language_data(tmp_path) -> None:
    empty = tmp_path / "tessdata"
    empty.mkdir()
    proc, rows, written = _run_poisoned(tmp_path, {}, {"TESSDATA_PREFIX": str(empty)})
    assert proc.returncode == 1, proc.stderr
    assert written == []
    assert [r["reason"] for r in rows] == [
        "OCR engine unavailable (no eng.traineddata for Tesseract)"
    ]


IMAGE_MAGIC = (b"\x89PNG", b"BM", b"II*\x00", b"MM\x00*", b"P5", b"P6", b"\xff\xd8\xff")


def test_a_run_killed_mid_ocr_leaves_no_crop_anywhere(tmp_path) -> None:
    """OCR runs in process: no image of a crop or page is ever written, so a kill -9 in
    the middle of reading leaves nothing in the temp folder (nor anywhere else)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(40):
        ds, _ = build("rgb", lines=(f"PATIENT^NUMBER{i}", f"ID {48151623 + i}"))
        ds.Modality = "OT"
        ds.save_as(inputs / f"im{i:02d}.dcm", enforce_file_format=True)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(private_tmp))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "deid", "run", str(RESEARCH), str(inputs), "--out", str(out)]
    command += ["--workers", "1", "--key-file", str(_key(tmp_path))]
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(out.rglob("*.dcm")):
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed mid-OCR"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    written = len(list(out.rglob("*.dcm")))
    assert 0 < written < 40, "killed in the middle of the batch"
    suspicious = []
    for folder in (private_tmp, tmp_path / "in", out):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix != ".dcm":
                with open(path, "rb") as handle:
                    head = handle.read(8)
                if head.startswith(IMAGE_MAGIC) or "tess" in path.name:
                    suspicious.append(path)
    assert suspicious == []
    assert not [p for p in private_tmp.rglob("*") if p.is_file() and "dask" not in str(p)]
