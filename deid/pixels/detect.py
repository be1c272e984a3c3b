"""Burned-in text detection over every frame: candidates, then OCR confirmation.

Kept separate from :mod:`deid.pixels.clean` so ``deid pixels preview`` and the benchmark
run exactly the detection the pipeline runs, without writing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deid.pixels import wholeframe
from deid.pixels.candidates import (
    SCREEN_MIN_SPAN,
    STROKE_CONTRAST,
    Candidate,
    find_candidates,
    looks_like_text,
    stroke_image,
)
from deid.pixels.learned import near_duplicate, text_in_window, window_key, windows_for
from deid.pixels.ocr import DEFAULT_CACHE, OcrCache
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


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


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
    whole_frame: bool = False,
) -> list[Found]:
    """Text boxes in ``gray`` (frames, rows, columns) uint8.

    Every frame is screened (:func:`find_candidates`, :func:`looks_like_text`: no OCR).
    Candidates mostly outside the declared ultrasound image area are text by position
    (annotation lives there). Each flagged line opens a window on which PP-OCR's DB
    detector outlines the text lines and its recogniser confirms them
    (:mod:`deid.pixels.learned`). A flagged line at the same place as one of an earlier
    frame, with nearly the same pixels, reuses that line's outlines (fixed annotation on
    every frame is detected once, however the image under it moves); identical windows
    are read once per process (hash cache). ``whole_frame``: the frames are of a kind the
    screen cannot judge; the learned detector also reads each of them whole
    (:mod:`deid.pixels.wholeframe`).
    """
    cache = DEFAULT_CACHE if cache is None else cache
    allow = frozenset(t.lower() for t in allow_tokens)
    scan = wholeframe.FrameScan(gray, whole_frame, allow, cache)
    found: list[Found] = []
    seen: dict[tuple[int, int, int, int], list[tuple[np.ndarray, list[Rect]]]] = {}
    shape = gray.shape[1:3]
    for index in range(gray.shape[0]):
        frame = gray[index]
        flagged = []
        # Without an ultrasound image area only lines the screen can pass matter.
        span = SCREEN_MIN_SPAN if image_area is None else 0.0
        for cand in find_candidates(frame, span):
            box = (cand.x, cand.y, cand.w, cand.h)
            if mostly_outside(image_area, box):
                found.append(Found(index, box, "outside-image-area"))
            elif looks_like_text(frame, cand):
                flagged.append(cand)
        # Second look, on thin strokes against their local background: text touching
        # anatomy, on light or textured ground, that the gradient merged with it.
        strokes = stroke_image(frame)
        flagged.extend(
            c
            for c in find_candidates(strokes, SCREEN_MIN_SPAN, True)
            if looks_like_text(strokes, c, loose=True)
        )
        # A flagged line at the same place as in an earlier frame, with nearly the same
        # pixels, is the same annotation: its outlines are reused, no window is run.
        fresh, boxes = [], []
        for cand in flagged:
            rect = (cand.x, cand.y, cand.w, cand.h)
            tight = frame[cand.y : cand.y + cand.h, cand.x : cand.x + cand.w]
            known = next(
                (b for other, b in seen.get(rect, []) if near_duplicate(other, tight)), None
            )
            if known is None:
                fresh.append(cand)
            else:
                boxes.extend(known)
        # --- whole-frame detector (deid.pixels.wholeframe): frames the screen cannot judge.
        whole = scan.boxes(index, frame, strokes)
        boxes.extend(whole)
        fresh = wholeframe.uncovered(fresh, whole)
        # --- end whole-frame detector.
        new_boxes: list[Rect] = []
        for win in windows_for(fresh, shape):
            key = ("db", window_key(frame, win, allow))
            result: list[Rect] | None = cache.get(key)  # type: ignore[arg-type,assignment]
            if result is None:
                cache.calls += 1
                result = text_in_window(frame, win, allow, strokes, STROKE_CONTRAST)
                cache.put(key, result)  # type: ignore[arg-type]
            new_boxes.extend(result)
        for cand in fresh:
            rect = (cand.x, cand.y, cand.w, cand.h)
            tight = frame[cand.y : cand.y + cand.h, cand.x : cand.x + cand.w]
            mine = [b for b in new_boxes if _overlaps(b, rect)]
            seen.setdefault(rect, []).append((tight, mine))
        # A confirmed line takes in flagged fragments on its band that DB left out
        # (a script capital, a word the window cut).
        for b in dict.fromkeys(boxes + new_boxes):
            found.append(Found(index, absorb_neighbours(b, flagged), "ocr"))
    found.sort(key=lambda f: (f.frame, f.box[1], f.box[0]))
    return found
