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
    for index in range(gray.shape[0]):
        frame = gray[index]
        for cand in find_candidates(frame):
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
                found.append(Found(index, (line.x, line.y, line.w, line.h), "ocr"))
    found.sort(key=lambda f: (f.frame, f.box[1], f.box[0]))
    return found
