"""No fail-open in the pixel path: when the pixel step cannot import, or the OCR engine is
missing or fails, the file is quarantined with a one-line reason, never written unchanged.

The in-process cases poison ``sys.modules``; the CLI cases run ``deid run`` in a fresh
interpreter whose ``PYTHONPATH`` starts with a folder of modules that refuse to import (the
forkserver children inherit it), so the whole pipeline meets the broken environment.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pixels_helpers import build

import deid.pixels.ppocr as ppocr_module
from deid import KeyRing, deidentify
from deid.pixels import clean_pixels
from deid.pixels.ocr import OcrCache
from deid.recipe.loader import load_recipe
from deid.recipe.model import PixelSettings
from deid.rewrite.quarantine import QuarantineError

REPO = Path(__file__).resolve().parents[2]
RESEARCH = REPO / "recipes" / "research.yaml"


def _fresh_engine(monkeypatch) -> None:
    """Forget this thread's models so the next call loads them again."""
    monkeypatch.setattr(ppocr_module, "_local", type(ppocr_module._local)())


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
def test_missing_onnxruntime_quarantines(monkeypatch, with_text: bool) -> None:
    _fresh_engine(monkeypatch)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    ds, _ = build("mono8")
    if not with_text:
        ds.PixelData = bytes(len(ds.PixelData))
    pixel_bytes = ds.PixelData
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert not outcome.changed and ds.PixelData is pixel_bytes
    assert outcome.quarantine_reason == "text detector unavailable (onnxruntime does not import)"


def test_missing_model_file_quarantines(monkeypatch) -> None:
    _fresh_engine(monkeypatch)
    monkeypatch.setattr(ppocr_module, "DET_MODEL", "no_such_det_model.onnx")
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert outcome.quarantine_reason == (
        "text detector unavailable (model no_such_det_model.onnx missing)"
    )
    assert not outcome.changed


def test_missing_model_package_quarantines(monkeypatch) -> None:
    _fresh_engine(monkeypatch)
    monkeypatch.setattr(ppocr_module.importlib.util, "find_spec", lambda name: None)
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert outcome.quarantine_reason == (
        "text detector unavailable (rapidocr-onnxruntime not installed)"
    )


def test_engine_that_dies_mid_read_quarantines(monkeypatch) -> None:
    class Dying:
        """An onnxruntime session whose inference crashes (message quoting a value)."""

        def get_inputs(self):
            return [type("Input", (), {"name": "x"})()]

        def run(self, *args):
            raise RuntimeError("engine crashed reading SMITH^JOHN")

        def get_modelmeta(self):
            raise RuntimeError("engine crashed reading SMITH^JOHN")

    ppocr_module.ensure_available()
    monkeypatch.setattr(ppocr_module, "_session", lambda name: Dying())
    ds, _ = build("mono8")
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.quarantine_reason == "text detector failed (RuntimeError)"
    assert not outcome.changed


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


def test_cli_quarantines_when_the_text_detector_is_missing(tmp_path) -> None:
    proc, rows, written = _run_poisoned(tmp_path, {"onnxruntime": "raise ImportError('gone')"})
    assert proc.returncode == 1, proc.stderr
    assert written == []
    assert [r["reason"] for r in rows] == [
        "text detector unavailable (onnxruntime does not import)"
    ]


def test_cli_quarantines_when_the_models_are_missing(tmp_path) -> None:
    """A module of the models' package name without the package (and so without models)."""
    proc, rows, written = _run_poisoned(tmp_path, {"rapidocr_onnxruntime": ""})
    assert proc.returncode == 1, proc.stderr
    assert written == []
    assert [r["reason"] for r in rows] == [
        "text detector unavailable (rapidocr-onnxruntime not installed)"
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
    assert not [
        p
        for p in private_tmp.rglob("*")
        if p.is_file() and "dask" not in str(p) and not _onnxruntime_marker(p)
    ]


def _onnxruntime_marker(path: Path) -> bool:
    """onnxruntime's native library leaves ``$TMPDIR/.ses``: a time stamp and a UUID, no
    image data (checked here, so anything else under that name still fails the test)."""
    return (
        path.name == ".ses"
        and re.fullmatch(r"\d+\n[0-9a-f-]{36}\n?", path.read_text(errors="replace")) is not None
    )
