"""Burned-in text detection over every frame: candidates, then OCR confirmation.

Kept separate from :mod:`deid.pixels.clean` so ``deid pixels preview`` and the benchmark
run exactly the detection the pipeline runs, without writing anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
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
from deid.pixels.learned import text_in_window, window_key, windows_for
from deid.pixels.ocr import DEFAULT_CACHE, OcrCache
from deid.pixels.probe import band_shows_text
from deid.pixels.regions import Rect, mostly_outside
from deid.pixels.reuse import LineMemory, SeriesMemory, memory_for


@dataclass(frozen=True)
class Found:
    """A text box found on one frame (before the margin is added)."""

    frame: int
    box: Rect
    reason: str  # "ocr" or "outside-image-area"


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


def _screen(
    frame: np.ndarray, index: int, image_area: np.ndarray | None
) -> tuple[list[Found], list[Candidate], np.ndarray]:
    """The cheap screen of one frame: text by position (outside the ultrasound image
    area), the flagged lines, and the stroke image (the reader grows outlines over it)."""
    outside, flagged = [], []
    # Without an ultrasound image area only lines the screen can pass matter.
    span = SCREEN_MIN_SPAN if image_area is None else 0.0
    for cand in find_candidates(frame, span):
        box = (cand.x, cand.y, cand.w, cand.h)
        if mostly_outside(image_area, box):
            outside.append(Found(index, box, "outside-image-area"))
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
    return outside, flagged, strokes


def _read(
    frame: np.ndarray,
    fresh: list[Candidate],
    allow: frozenset[str],
    strokes: np.ndarray,
    cache: OcrCache,
) -> list[Rect]:
    """Confirmed text boxes of the fresh flagged lines: each line's band is probed first
    (:mod:`deid.pixels.probe`), and only lines DB outlines anything in open a window."""
    showing = [c for c in fresh if band_shows_text(frame, c, cache)]
    boxes: list[Rect] = []
    for win in windows_for(showing, frame.shape[:2]):
        key = ("db", window_key(frame, win, allow))
        result: list[Rect] | None = cache.get(key)  # type: ignore[arg-type,assignment]
        if result is None:
            cache.calls += 1
            result = text_in_window(frame, win, allow, strokes, STROKE_CONTRAST)
            cache.put(key, result)  # type: ignore[arg-type]
        boxes.extend(result)
    return boxes


def detect_text(
    gray: np.ndarray,
    allow_tokens: Sequence[str] = (),
    image_area: np.ndarray | None = None,
    cache: OcrCache | None = None,
    series: Hashable | None = None,
    memory: SeriesMemory | None = None,
    whole_frame: bool = False,
) -> list[Found]:
    """Text boxes in ``gray`` (frames, rows, columns) uint8.

    Every frame is screened (:func:`find_candidates`, :func:`looks_like_text`: no OCR).
    Candidates mostly outside the declared ultrasound image area are text by position
    (annotation lives there). Each flagged line's band is probed by PP-OCR's DB detector;
    where it outlines anything, a window opens on which DB outlines the text lines and its
    recogniser confirms them (:mod:`deid.pixels.learned`).

    A flagged line already judged is not looked at again (:mod:`deid.pixels.reuse`): at
    the same place in an earlier frame with nearly the same pixels (fixed annotation on
    every frame is detected once, however the image under it moves), or, when ``series``
    names the file's series (SeriesInstanceUID), at the same place in an earlier file of
    that series with nearly identical pixels around it (a CT table, a fixed label: once
    per series). Identical windows are read once per process (hash cache).
    ``whole_frame``: the frames are of a kind the screen cannot judge; the learned
    detector also reads each of them whole (:mod:`deid.pixels.wholeframe`).
    """
    cache = DEFAULT_CACHE if cache is None else cache
    memory = memory_for(cache) if memory is None else memory
    allow = frozenset(t.lower() for t in allow_tokens)
    scan = wholeframe.FrameScan(gray, whole_frame, allow, cache)
    key = None if series is None else (series, gray.shape[1:3], allow)
    seen: LineMemory = memory.checkout(key)
    found: list[Found] = []
    try:
        for index in range(gray.shape[0]):
            frame = gray[index]
            outside, flagged, strokes = _screen(frame, index, image_area)
            found.extend(outside)
            fresh, boxes = [], []
            for cand in flagged:
                known = seen.recall(frame, cand)
                if known is None:
                    fresh.append(cand)
                else:
                    boxes.extend(known)
            # --- whole-frame detector (deid.pixels.wholeframe): frames the screen cannot judge.
            whole = scan.boxes(index, frame, strokes)
            boxes.extend(whole)
            fresh = wholeframe.uncovered(fresh, whole)
            # --- end whole-frame detector.
            new_boxes = _read(frame, fresh, allow, strokes, cache) if fresh else []
            for cand in fresh:
                rect = (cand.x, cand.y, cand.w, cand.h)
                seen.remember(frame, cand, [b for b in new_boxes if _overlaps(b, rect)])
            # A confirmed line takes in flagged fragments on its band that DB left out
            # (a script capital, a word the window cut).
            for b in dict.fromkeys(boxes + new_boxes):
                found.append(Found(index, absorb_neighbours(b, flagged), "ocr"))
    finally:
        memory.checkin(key, seen)
    found.sort(key=lambda f: (f.frame, f.box[1], f.box[0]))
    return found


def detect_white_text(
    white: np.ndarray,
    allow_tokens: Sequence[str] = (),
    cache: OcrCache | None = None,
    known: Sequence[Found] = (),
) -> list[Found]:
    """Text boxes in the whiteness of colour frames (:func:`deid.pixels.render.renderings`):
    white text over colour Doppler or a saturated photograph, which the brightest-channel
    rendering :func:`detect_text` works on does not show.

    Only the whole-frame detector reads it (:class:`~deid.pixels.wholeframe.FrameScan`:
    the first frame and the still image of a multi-frame file, so a cine costs two reads):
    text on colour is the kind the screen cannot judge, and what the screen can judge it
    has found in the other rendering. Outlines inside what that rendering found are not
    read again (the recogniser is most of the cost): in frame 0, what it found on frame 0;
    in the still image, whose boxes hold on every frame, what it found on every frame.
    """
    cache = DEFAULT_CACHE if cache is None else cache
    allow = frozenset(t.lower() for t in allow_tokens)
    per_frame = [{f.box for f in known if f.frame == i} for i in range(white.shape[0])]
    everywhere = set.intersection(*per_frame) if per_frame else set()
    scan = wholeframe.FrameScan(
        white, True, allow, cache, sorted(per_frame[0]) if per_frame else [], sorted(everywhere)
    )
    found: list[Found] = []
    for index in range(white.shape[0]):
        strokes = stroke_image(white[index]) if index == 0 else None
        found.extend(Found(index, box, "ocr") for box in scan.boxes(index, white[index], strokes))
    return found
