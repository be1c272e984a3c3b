"""PP-OCR's DB text detector and CRNN recogniser, run with onnxruntime in process.

The ONNX models ship inside the ``rapidocr-onnxruntime`` wheel (``models/``); they are
located on disk through the installed package and never downloaded. Only onnxruntime is
used to run them (rapidocr's own pipeline is not imported: it reads every image whole and
starts thread pools of its own). One session per model and thread, one intra-op thread:
Dask workers already use the cores.

Fail closed: when onnxruntime does not import or a model file is missing,
:class:`~deid.pixels.tesseract.OcrUnavailable` is raised and the caller quarantines the
file.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from deid.pixels.tesseract import OcrUnavailable

DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
#: DB post-processing as PP-OCR ships it: probability threshold, box score, unclip ratio.
DB_THRESH = 0.3
DB_BOX_THRESH = 0.5
DB_UNCLIP = 1.6
#: CLAHE on the detector's input (:func:`detector_input`): clip limit and tiles per side.
CLAHE_CLIP = 2.0
CLAHE_TILES = 8
REC_HEIGHT = 48


def models_dir() -> str:
    """The folder of the ONNX models inside the installed rapidocr-onnxruntime wheel."""
    try:
        spec = importlib.util.find_spec("rapidocr_onnxruntime")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise OcrUnavailable("text detector unavailable (rapidocr-onnxruntime not installed)")
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "models")
    for name in (DET_MODEL, REC_MODEL):
        if not os.path.isfile(os.path.join(folder, name)):
            raise OcrUnavailable(f"text detector unavailable (model {name} missing)")
    return folder


_local = threading.local()


def _session(name: str):
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    session = sessions.get(name)
    if session is None:
        try:
            import onnxruntime  # type: ignore[import-untyped]
        except Exception as error:
            raise OcrUnavailable(
                "text detector unavailable (onnxruntime does not import)"
            ) from error
        path = os.path.join(models_dir(), name)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                path, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise OcrUnavailable(
                f"text detector unavailable (model does not load: {type(error).__name__})"
            ) from error
        sessions[name] = session
    return session


def ensure_available() -> None:
    """Raise :class:`OcrUnavailable` unless both models load in this thread."""
    _session(DET_MODEL)
    _session(REC_MODEL)


def warm() -> None:
    """Load both models and run each once on a blank input, so the first file a process
    works on does not pay for it (onnxruntime builds its kernels on the first run: the
    first file of a run took three times as long as the next). Best effort: a model that
    cannot load raises again, with its reason, when a file needs it (fail closed there)."""
    try:
        detect(np.zeros((32, 96), dtype=np.uint8))
        recognise([np.zeros((REC_HEIGHT, 2 * REC_HEIGHT), dtype=np.uint8)])
    except OcrUnavailable:
        pass


def _charset() -> list[str]:
    chars = getattr(_local, "charset", None)
    if chars is None:
        session = _session(REC_MODEL)
        try:
            meta = session.get_modelmeta().custom_metadata_map
        except Exception as error:
            raise OcrUnavailable(f"text recogniser unavailable ({type(error).__name__})") from error
        if "character" not in meta:
            raise OcrUnavailable("text recogniser unavailable (no character list in model)")
        chars = _local.charset = ["blank", *meta["character"].splitlines(), " "]
    return chars


def _run(name: str, batch: np.ndarray) -> np.ndarray:
    session = _session(name)
    try:
        return session.run(None, {session.get_inputs()[0].name: batch})[0]
    except Exception as error:
        raise OcrUnavailable(f"text detector failed ({type(error).__name__})") from error


def _as_bgr(gray: np.ndarray) -> np.ndarray:
    if gray.ndim == 2:
        return np.repeat(gray[..., None], 3, axis=-1)
    return gray


def detector_input(image: np.ndarray) -> np.ndarray:
    """An 8-bit grey image as DB is given it: the image itself in two channels, its
    local-contrast equalised copy (CLAHE) in the third. Faint text (grey on grey, light on
    near-white) reaches in the equalised channel the contrast DB was trained on, while text
    on speckle, whose contrast CLAHE drowns, stays legible in the other two: one inference,
    where running the two inputs apart costs two (measured on whole frames: the same recall
    within one line). Whole frames, the screen's probes and its windows all get it: a
    faint line the probe did not see was never looked at again."""
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(CLAHE_TILES, CLAHE_TILES))
    equalised = clahe.apply(np.ascontiguousarray(image))
    return np.dstack([image, equalised, image])


def detect(image: np.ndarray, scale: float = 1.0) -> list[tuple[int, int, int, int, float]]:
    """DB text boxes (x, y, w, h, score) of ``image`` (uint8 grey or 3-channel), in its
    own coordinates; ``scale`` enlarges it first (small text)."""
    rows, columns = image.shape[:2]
    h = max(32, math.ceil(rows * scale / 32) * 32)
    w = max(32, math.ceil(columns * scale / 32) * 32)
    resized = cv2.resize(_as_bgr(image), (w, h), interpolation=cv2.INTER_LINEAR)
    batch = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
    batch = batch.transpose(2, 0, 1)[np.newaxis]
    prob = _run(DET_MODEL, np.ascontiguousarray(batch))[0, 0]
    mask = (prob > DB_THRESH).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    sx, sy = columns / w, rows / h
    boxes = []
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if min(bw, bh) < 3:
            continue
        score = float(prob[y : y + bh, x : x + bw][labels[y : y + bh, x : x + bw] == i].mean())
        if score < DB_BOX_THRESH:
            continue
        # Unclip: DB's kernels shrink text by area * ratio / perimeter on every side.
        distance = area * DB_UNCLIP / max(2 * (bw + bh), 1)
        x0, y0 = (x - distance) * sx, (y - distance) * sy
        x1, y1 = (x + bw + distance) * sx, (y + bh + distance) * sy
        x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        x1, y1 = min(columns, math.ceil(x1)), min(rows, math.ceil(y1))
        if x1 > x0 and y1 > y0:
            boxes.append((x0, y0, x1 - x0, y1 - y0, score))
    return boxes


@dataclass(frozen=True)
class Reading:
    """What the recogniser read in one crop: the text and its mean character score."""

    text: str
    score: float


def recognise(crops: list[np.ndarray]) -> list[Reading]:
    """Read each crop (uint8 grey or 3-channel, one text line) with PP-OCR's recogniser."""
    if not crops:
        return []
    chars = _charset()
    readings: list[Reading] = []
    order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / max(crops[i].shape[0], 1))
    results: dict[int, Reading] = {}
    for start in range(0, len(order), 8):
        group = order[start : start + 8]
        ratios = [crops[i].shape[1] / max(crops[i].shape[0], 1) for i in group]
        # The model takes any width; the batch is as wide as its widest crop (no 320 px
        # floor: the cost grows with the width).
        width = math.ceil(REC_HEIGHT * max(max(ratios), 2.0))
        batch = np.zeros((len(group), 3, REC_HEIGHT, width), dtype=np.float32)
        for row, i in enumerate(group):
            crop = _as_bgr(crops[i])
            w = min(width, max(1, math.ceil(REC_HEIGHT * ratios[row])))
            resized = cv2.resize(crop, (w, REC_HEIGHT)).astype(np.float32)
            batch[row, :, :, :w] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        preds = _run(REC_MODEL, batch)
        best, probs = preds.argmax(axis=2), preds.max(axis=2)
        for row, i in enumerate(group):
            text, scores, last = [], [], 0
            for index, p in zip(best[row].tolist(), probs[row].tolist()):
                if index != 0 and index != last and index < len(chars):
                    text.append(chars[index])
                    scores.append(p)
                last = index
            results[i] = Reading("".join(text), float(np.mean(scores)) if scores else 0.0)
    readings = [results[i] for i in range(len(crops))]
    return readings
