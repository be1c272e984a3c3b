"""Tesseract in process (tesserocr): no subprocess, no temporary image files.

``pytesseract`` writes every page it reads to the system temp folder (world-readable) and
starts a process per call; crops of burned-in names then outlive a killed run. tesserocr
links libtesseract into this process, so a crop only ever exists in memory, and a call
costs about a tenth (measured: 12 ms against 108 ms for one line).

The engine is fail-closed: when tesserocr does not import, when no ``eng.traineddata``
can be found, or when recognition times out, :class:`OcrUnavailable` is raised and the
caller quarantines the file. Nothing here ever falls back to "no text found".
"""

from __future__ import annotations

import glob
import os
import threading
from dataclasses import dataclass

import numpy as np

# Tesseract's OpenMP threads fight Dask workers for cores; one thread per call is fastest
# on a busy machine. Only a default: a user's explicit setting wins.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

#: Where Debian/Ubuntu (tesseract-ocr-eng), Fedora and Homebrew put the language data; the
#: tesserocr wheel bundles libtesseract but no language data.
TESSDATA_GLOBS = (
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tesseract-ocr/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
#: One recognition call may take at most this long (ms) before the file is quarantined.
TIMEOUT_MS = 20_000


class OcrUnavailable(Exception):
    """The OCR engine cannot run; the message is a one-line, value-free reason."""


@dataclass(frozen=True)
class Word:
    """One word as Tesseract read it; ``line`` identifies its text line on the page."""

    text: str
    conf: float
    top: int
    height: int
    line: tuple[int, int, int] = (0, 0, 0)


def tessdata_dir() -> str:
    """The folder holding ``eng.traineddata``: ``$TESSDATA_PREFIX`` first, then the
    distributions' usual places."""
    candidates = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        candidates += [prefix, os.path.join(prefix, "tessdata")]
    else:
        for pattern in TESSDATA_GLOBS:
            candidates += sorted(glob.glob(pattern), reverse=True)
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, "eng.traineddata")):
            return folder
    raise OcrUnavailable("OCR engine unavailable (no eng.traineddata for Tesseract)")


_local = threading.local()


def _api(psm: int):
    """This thread's engine for ``psm`` (Dask runs tasks in threads; an API is not shared)."""
    apis = getattr(_local, "apis", None)
    if apis is None:
        apis = _local.apis = {}
    api = apis.get(psm)
    if api is None:
        try:
            import tesserocr
        except Exception as error:  # ImportError, or a broken shared library
            raise OcrUnavailable("OCR engine unavailable (tesserocr does not import)") from error
        try:
            api = tesserocr.PyTessBaseAPI(
                path=tessdata_dir() + os.sep,
                lang="eng",
                psm=psm,
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        except OcrUnavailable:
            raise
        except Exception as error:
            raise OcrUnavailable(
                f"OCR engine unavailable (Tesseract does not start: {type(error).__name__})"
            ) from error
        apis[psm] = api
    return api


def ensure_available() -> None:
    """Raise :class:`OcrUnavailable` unless the engine can read in this thread (cheap after
    the first call)."""
    _api(6)


def read_words(image: np.ndarray, psm: int) -> list[Word]:
    """Every word of ``image`` (uint8, dark text on white) with its confidence and line."""
    import tesserocr

    api = _api(psm)
    image = np.ascontiguousarray(image, dtype=np.uint8)
    rows, columns = image.shape
    try:
        api.SetImageBytes(image.tobytes(), columns, rows, 1, columns)
        ok = api.Recognize(timeout=TIMEOUT_MS)
    except Exception as error:
        raise OcrUnavailable(f"OCR failed ({type(error).__name__})") from error
    if not ok:
        raise OcrUnavailable("OCR failed (recognition timed out or was cancelled)")
    words: list[Word] = []
    iterator = api.GetIterator()
    if iterator is None:
        return words
    level = tesserocr.RIL.WORD
    line = 0
    for item in tesserocr.iterate_level(iterator, level):
        if item.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
            line += 1
        try:
            text = (item.GetUTF8Text(level) or "").strip()
            box = item.BoundingBox(level)
        except RuntimeError:  # "No text returned": an empty word
            continue
        if not text:
            continue
        if box is None:
            continue
        _, top, _, bottom = box
        words.append(Word(text, float(item.Confidence(level)), top, bottom - top, (0, 0, line)))
    api.Clear()
    return words
