"""A first, small look of the learned detector at each flagged line before its full window.

The cheap screen flags lines of stroke-like blobs; on text-free CT and MR most of them are
a table edge, the fat around a muscle or the texture of an organ, and the full window the
reader needs (the line's band, eight heights to each side, enlarged so glyphs reach 18 px)
costs a DB run of tens of milliseconds for nothing. The probe runs DB on the line's own
band (:data:`BAND` heights up and down, at least :data:`MIN_BAND` px, :data:`SIDE` heights
to each side, at least :data:`MIN_SIDE` px), at the same enlargement: a few times fewer
pixels. DB outlines text however much of its line the screen flagged, so a band in which it
outlines nothing at all holds no text; only lines whose band shows an outline go on to the
full window, the widening and the reader (:mod:`deid.pixels.learned`).

Measured on the tuning split (4 seeds, 321 flagged text lines): the probe outlined
something for every text line the full window finds, and for none of the 7 lines flagged
on the benchmark's text-free CT/MR batch slices (373 of 377 non-text lines on the tuning
images skipped the full window).
"""

from __future__ import annotations

import hashlib

import numpy as np

from deid.pixels import ppocr
from deid.pixels.candidates import Candidate
from deid.pixels.learned import MAX_INPUT_PIXELS, MAX_SCALE, MIN_SCALE, TARGET_GLYPH
from deid.pixels.ocr import OcrCache

BAND = 1.0
MIN_BAND = 20
SIDE = 3.0
MIN_SIDE = 24


def band(cand: Candidate, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The probe's crop (x, y, w, h) around a flagged line, clipped to the frame."""
    rows, columns = shape
    height = max(cand.h, cand.glyph_height)
    pad_y = max(MIN_BAND, round(BAND * height))
    pad_x = max(MIN_SIDE, round(SIDE * height))
    x0, y0 = max(0, cand.x - pad_x), max(0, cand.y - pad_y)
    x1, y1 = min(columns, cand.x + cand.w + pad_x), min(rows, cand.y + cand.h + pad_y)
    return x0, y0, x1 - x0, y1 - y0


def _scale(cand: Candidate, pixels: int) -> float:
    scale = min(MAX_SCALE, max(MIN_SCALE, TARGET_GLYPH / max(cand.glyph_height, 1)))
    if pixels * scale * scale > MAX_INPUT_PIXELS:  # the full window is capped the same way
        scale = max(MIN_SCALE, (MAX_INPUT_PIXELS / pixels) ** 0.5)
    return scale


def band_shows_text(frame: np.ndarray, cand: Candidate, cache: OcrCache) -> bool:
    """Whether DB outlines anything in the line's band (see the module docstring).

    Identical bands are probed once per process (hash cache); :class:`OcrUnavailable`
    from the detector propagates (the caller quarantines: fail closed).
    """
    x, y, w, h = band(cand, frame.shape[:2])
    crop = np.ascontiguousarray(frame[y : y + h, x : x + w])
    scale = _scale(cand, crop.shape[0] * crop.shape[1])
    digest = hashlib.blake2b(crop.tobytes(), digest_size=16)
    digest.update(repr((crop.shape, scale)).encode())
    key = ("probe", digest.hexdigest())
    known = cache.get(key)  # type: ignore[arg-type]
    if known is not None:
        return bool(known)
    cache.calls += 1
    shows = bool(ppocr.detect(ppocr.detector_input(crop), scale))
    cache.put(key, shows)  # type: ignore[arg-type]
    return shows
