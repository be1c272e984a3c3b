"""Find text-like line candidates in an 8-bit frame with OpenCV (no OCR here).

Burned-in annotation is strokes of one brightness on a flat background, bright or dark,
from about 7 px high. A morphological gradient marks stroke edges of either polarity;
its threshold gives glyph (or, for small text, whole word) blobs; blobs with glyph
geometry are grouped into lines by vertical overlap, similar height and small horizontal
gaps. Anatomy makes few blobs that survive the geometry filter, and the survivors are
left for Tesseract to reject, so this stage is tuned for recall, not precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Smallest and largest glyph heights (px) that count as text.
MIN_HEIGHT = 5
MAX_HEIGHT = 60
#: Weakest edge (8-bit gradient) a glyph stroke can have: dim grey text on black is ~60.
MIN_GRADIENT = 28
#: Frames that yield more blobs than this are texture, not annotation: keep the best ones.
MAX_BLOBS = 3000
MAX_LINES = 120
#: How far (in glyph heights) a confirmed line may grow over missed glyphs.
EXTEND_GLYPHS = 8


@dataclass(frozen=True)
class Candidate:
    """A candidate text line: bounding box (x, y, w, h) and its typical glyph height."""

    x: int
    y: int
    w: int
    h: int
    glyph_height: int
    blobs: int


def background_level(crop: np.ndarray) -> int:
    """The most common level (histogram peak, lightly smoothed): a flat background's value.

    The median is not used: bold text can cover half a tight line box.
    """
    hist = np.bincount(crop.reshape(-1), minlength=256).astype(np.float32)
    smooth = np.convolve(hist, np.ones(5, dtype=np.float32), mode="same")
    return int(np.argmax(smooth))


def _gradient(gray: np.ndarray) -> np.ndarray:
    """Morphological gradient (3x3): stroke edges of either polarity."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    return cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, kernel)


def _blobs(gray: np.ndarray) -> np.ndarray:
    """Glyph-like connected components as rows (x, y, w, h, area)."""
    gradient = _gradient(gray)
    otsu, _ = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    level = max(MIN_GRADIENT, min(int(otsu), 90))
    _, mask = cv2.threshold(gradient, level, 255, cv2.THRESH_BINARY)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:count]
    if not len(stats):
        return np.zeros((0, 5), dtype=np.int64)
    x, y, w, h, area = (stats[:, i].astype(np.int64) for i in range(5))
    max_h = min(MAX_HEIGHT, max(MIN_HEIGHT + 1, gray.shape[0] // 3))
    fill = area / np.maximum(w * h, 1)
    keep = (
        (h >= MIN_HEIGHT) & (h <= max_h) & (w >= 2) & (w <= np.maximum(h * 60, 20)) & (fill >= 0.12)
    )
    return np.stack([x, y, w, h, area], axis=1)[keep]


def _group_lines(blobs: np.ndarray) -> list[np.ndarray]:
    """Union blobs that sit on one text line: overlapping rows, similar height, near in x."""
    n = len(blobs)
    if n == 0:
        return []
    x, y, w, h = (blobs[:, i].astype(np.float64) for i in range(4))
    top, bottom, left, right = y, y + h, x, x + w
    overlap = np.minimum(bottom[:, None], bottom[None, :]) - np.maximum(top[:, None], top[None, :])
    small_h = np.minimum(h[:, None], h[None, :])
    big_h = np.maximum(h[:, None], h[None, :])
    gap = np.maximum(left[:, None], left[None, :]) - np.minimum(right[:, None], right[None, :])
    linked = (overlap >= 0.5 * small_h) & (big_h <= 2.5 * small_h) & (gap <= 1.3 * big_h)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(linked, 1))
    for i, j in zip(rows.tolist(), cols.tolist()):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [blobs[idx] for idx in groups.values()]


def find_candidates(gray: np.ndarray) -> list[Candidate]:
    """Text-line candidates of one 8-bit frame, largest first, at most ``MAX_LINES``."""
    blobs = _blobs(gray)
    if len(blobs) > MAX_BLOBS:
        # Texture: prefer compact, high-contrast-edge blobs of glyph size.
        order = np.argsort(-blobs[:, 4])
        blobs = blobs[order[:MAX_BLOBS]]
    lines = []
    for group in _group_lines(blobs):
        x0 = int(group[:, 0].min())
        y0 = int(group[:, 1].min())
        x1 = int((group[:, 0] + group[:, 2]).max())
        y1 = int((group[:, 1] + group[:, 3]).max())
        glyph_h = int(np.median(group[:, 3]))
        w, h = x1 - x0, y1 - y0
        if h > 3 * glyph_h or w < 0.3 * glyph_h:
            continue
        lines.append(Candidate(x0, y0, w, h, glyph_h, len(group)))
    lines.sort(key=lambda c: -(c.w * c.h))
    return lines[:MAX_LINES]


def extend_line(gray: np.ndarray, cand: Candidate) -> Candidate:
    """Grow a confirmed line sideways over glyphs that grouping missed.

    Text touching image structure (a CT table edge, anatomy) loses those glyphs to a
    blob too big to be a glyph. The line grows over columns of its band that have edges
    and keep the line's flat background (median near the line's background level); it
    stops at the first column that leaves the background, after a gap wider than a
    glyph, or after ``EXTEND_GLYPHS`` glyph heights. Half a glyph is added on each side
    (a glyph cut at a blob boundary).
    """
    rows, columns = gray.shape
    top, bottom = max(0, cand.y - 2), min(rows, cand.y + cand.h + 2)
    band = gray[top:bottom]
    line_band = gray[cand.y : cand.y + cand.h]
    background = background_level(line_band[:, cand.x : cand.x + cand.w])
    edges = _gradient(band) > max(MIN_GRADIENT, 40)
    glyph = edges[cand.y - top : cand.y - top + cand.h].any(axis=0)
    on_background = np.abs(np.median(line_band, axis=0) - background) <= 24
    gap_limit = max(3, int(0.9 * cand.glyph_height))
    reach = EXTEND_GLYPHS * cand.glyph_height

    def walk(start: int, step: int) -> int:
        last, x = start, start + step
        while 0 <= x < columns and abs(x - start) <= reach and abs(x - last) <= gap_limit:
            if not on_background[x]:
                break
            if glyph[x]:
                last = x
            x += step
        return last

    pad = cand.glyph_height // 2
    left = max(0, walk(cand.x, -1) - pad)
    right = min(columns - 1, walk(cand.x + cand.w - 1, 1) + pad)
    return Candidate(left, cand.y, right - left + 1, cand.h, cand.glyph_height, cand.blobs)
