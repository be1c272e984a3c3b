"""Burned-in text detection over every frame: candidates, then OCR confirmation.

Kept separate from :mod:`deid.pixels.clean` so ``deid pixels preview`` and the benchmark
run exactly the detection the pipeline runs, without writing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deid.pixels.candidates import Candidate, extend_line, find_candidates, looks_like_text
from deid.pixels.ocr import Crop, OcrCache, confirm, prepare_crop
from deid.pixels.regions import Rect, mostly_outside


@dataclass(frozen=True)
class Found:
    """A text box found on one frame (before the margin is added)."""

    frame: int
    box: Rect
    reason: str  # "ocr" or "outside-image-area"


#: Mean absolute difference (8-bit levels) under which two crops at the same place are
#: the same annotation (lossy compression and noise make repeated labels differ slightly).
DUPLICATE_TOLERANCE = 4.0


def _near_duplicate(previous: list[tuple[np.ndarray, int]], crop: np.ndarray) -> int | None:
    for other, pending_index in previous:
        if np.abs(other.astype(np.int16) - crop.astype(np.int16)).mean() <= DUPLICATE_TOLERANCE:
            return pending_index
    return None


#: A confirmed line takes in candidates this many line heights away on its band (a glyph
#: the grouping split off: a script capital, a digit touching anatomy).
ABSORB_GAP = 1.5
#: Confirmed lines grow by this share of their height on every side (flourishes,
#: descenders and anti-aliased edges the blob stage did not reach).
LINE_PAD = 0.15


def absorb_neighbours(box: Rect, candidates: Sequence[Candidate]) -> Rect:
    """Grow a confirmed line over the candidates on its band until none is near."""
    x0, y0, x1, y1 = box[0], box[1], box[0] + box[2], box[1] + box[3]
    grown = True
    while grown:
        grown = False
        height = y1 - y0
        for c in candidates:
            cx0, cy0, cx1, cy1 = c.x, c.y, c.x + c.w, c.y + c.h
            if cx0 >= x0 and cx1 <= x1 and cy0 >= y0 and cy1 <= y1:
                continue
            overlap = min(y1, cy1) - max(y0, cy0)
            gap = max(cx0 - x1, x0 - cx1)
            if (
                overlap >= 0.5 * min(height, c.h)
                and c.h <= 2 * height
                and gap <= ABSORB_GAP * height
            ):
                x0, y0, x1, y1 = min(x0, cx0), min(y0, cy0), max(x1, cx1), max(y1, cy1)
                grown = True
    return x0, y0, x1 - x0, y1 - y0


def pad_line(box: Rect, shape: tuple[int, ...]) -> Rect:
    rows, columns = shape[:2]
    x, y, w, h = box
    pad = round(LINE_PAD * h)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(columns, x + w + pad), min(rows, y + h + pad)
    return x0, y0, x1 - x0, y1 - y0


def detect_text(
    gray: np.ndarray,
    allow_tokens: Sequence[str] = (),
    image_area: np.ndarray | None = None,
    cache: OcrCache | None = None,
) -> list[Found]:
    """Text boxes in ``gray`` (frames, rows, columns) uint8.

    Candidates mostly outside the declared ultrasound image area are text by position
    (annotation lives there); all others need Tesseract to read them. A candidate at the
    same place as one in an earlier frame, with nearly the same pixels, shares its
    verdict; identical crops are read once per process (hash cache).
    """
    found: list[Found] = []
    pending: list[tuple[int, Candidate, Crop]] = []
    copies: list[tuple[int, Candidate, int]] = []  # (frame, candidate, index in pending)
    seen: dict[Rect, list[tuple[np.ndarray, int]]] = {}
    per_frame: list[list[Candidate]] = []
    for index in range(gray.shape[0]):
        frame = gray[index]
        per_frame.append(find_candidates(frame))
        for cand in per_frame[-1]:
            box = (cand.x, cand.y, cand.w, cand.h)
            if mostly_outside(image_area, box):
                found.append(Found(index, box, "outside-image-area"))
                continue
            if not looks_like_text(frame, cand):
                continue
            tight = frame[cand.y : cand.y + cand.h, cand.x : cand.x + cand.w]
            twin = _near_duplicate(seen.get(box, []), tight)
            if twin is not None:
                copies.append((index, cand, twin))
                continue
            seen.setdefault(box, []).append((tight, len(pending)))
            pending.append((index, cand, prepare_crop(frame, box, cand.glyph_height)))
    if pending:
        verdicts = confirm([p[2] for p in pending], allow_tokens, cache=cache)
        verdicts += [verdicts[twin] for _, _, twin in copies]
        items = [(i, c) for i, c, _ in pending] + [(i, c) for i, c, _ in copies]
        for (index, cand), verdict in zip(items, verdicts):
            if verdict.text and not verdict.allowed_only:
                line = extend_line(gray[index], cand)
                box = absorb_neighbours((line.x, line.y, line.w, line.h), per_frame[index])
                found.append(Found(index, pad_line(box, gray.shape[1:]), "ocr"))
    found.sort(key=lambda f: (f.frame, f.box[1], f.box[0]))
    return found
