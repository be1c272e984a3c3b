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
#: The stroke image's square kernel (px): strokes up to this wide minus one survive.
STROKE_KERNEL = 7
#: Stroke contrast (8-bit levels) against the local background that marks ink.
STROKE_CONTRAST = 40
#: Stroke blobs are glyphs themselves (no gradient halo): smaller ones count.
MIN_STROKE_HEIGHT = 4
#: Frames that yield more blobs than this are texture, not annotation: keep the best ones.
MAX_BLOBS = 3000
MAX_LINES = 120
#: Blob pairs compared at once by the line grouping (bounds its memory).
PAIR_CHUNK = 1 << 20


@dataclass(frozen=True)
class Candidate:
    """A candidate text line: bounding box (x, y, w, h) and its typical glyph height."""

    x: int
    y: int
    w: int
    h: int
    glyph_height: int
    blobs: int
    #: How well the glyphs sit on one line: the smaller of the median absolute deviation of
    #: their tops and of their bottoms, in glyph heights (0 for one blob).
    misalignment: float = 0.0


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


def stroke_image(gray: np.ndarray) -> np.ndarray:
    """Thin structure of either polarity against its local background (white and black
    top-hats, ``STROKE_KERNEL`` square): glyph strokes stay, smooth anatomy, flat bars and
    the wide edges of organs go. Text touching anatomy or drawn on a textured or light
    background separates from it here, where the gradient merges the two."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (STROKE_KERNEL, STROKE_KERNEL))
    white = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel)
    black = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    return np.maximum(white, black)


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components (8-connected) and their stats. 16-bit labels take about half
    the time of 32-bit ones on a large frame; OpenCV refuses when a mask has more than
    65535 components (speckle), and the 32-bit labelling runs then."""
    try:
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            mask, connectivity=8, ltype=cv2.CV_16U
        )
    except cv2.error:
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return count, stats


def _blobs(gray: np.ndarray, strokes: bool = False) -> np.ndarray:
    """Glyph-like connected components as rows (x, y, w, h, area).

    ``strokes``: ``gray`` is a :func:`stroke_image`, thresholded at a fixed contrast.
    """
    if strokes:
        _, mask = cv2.threshold(gray, STROKE_CONTRAST, 255, cv2.THRESH_BINARY)
    else:
        gradient = _gradient(gray)
        otsu, _ = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        level = max(MIN_GRADIENT, min(int(otsu), 90))
        _, mask = cv2.threshold(gradient, level, 255, cv2.THRESH_BINARY)
    count, stats = _components(mask)
    stats = stats[1:count]
    if not len(stats):
        return np.zeros((0, 5), dtype=np.int64)
    x, y, w, h, area = (stats[:, i].astype(np.int64) for i in range(5))
    max_h = min(MAX_HEIGHT, max(MIN_HEIGHT + 1, gray.shape[0] // 3))
    fill = area / np.maximum(w * h, 1)
    # A label box's outline is a wide hollow blob: it would join the glyphs it frames
    # into one tall group.
    hollow = (w > 3 * h) & (fill < 0.25)
    min_h = MIN_STROKE_HEIGHT if strokes else MIN_HEIGHT
    keep = (
        (h >= min_h)
        & (h <= max_h)
        & (w >= 2)
        & (w <= np.maximum(h * 60, 20))
        & (fill >= 0.12)
        & ~hollow
    )
    return np.stack([x, y, w, h, area], axis=1)[keep]


def _linked_pairs(blobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of blobs on one text line: overlapping rows, similar height, near in x.

    Only blobs whose vertical centres are close can overlap enough, so each blob is
    compared with the ones that follow it in centre order up to its reach, not with all of
    them: textured frames make thousands of blobs.
    """
    order = np.argsort(blobs[:, 1] + blobs[:, 3] / 2, kind="stable")
    x, y, w, h = (blobs[order, i].astype(np.float64) for i in range(4))
    centre = y + h / 2
    reach = np.searchsorted(centre, centre + h * 1.25, side="right")
    # Every blob against each of the ones up to its reach, vectorised: the work is the
    # number of near pairs (tens of thousands on a textured 1024x1024 frame), with no
    # Python loop over blobs; blobs are taken in chunks of at most PAIR_CHUNK pairs so a
    # pathological frame cannot take much memory.
    counts = reach - np.arange(len(order)) - 1
    ends = np.cumsum(counts)
    firsts, seconds = [], []
    start = 0
    while start < len(order):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - counts[start] + PAIR_CHUNK)))
        stop = min(stop, len(order))
        part = counts[start:stop]
        total = int(part.sum())
        if total:
            i = np.repeat(np.arange(start, stop), part)
            j = i + 1 + (np.arange(total) - np.repeat(np.cumsum(part) - part, part))
            overlap = np.minimum(y[i] + h[i], y[j] + h[j]) - np.maximum(y[i], y[j])
            small_h, big_h = np.minimum(h[i], h[j]), np.maximum(h[i], h[j])
            gap = np.maximum(x[i], x[j]) - np.minimum(x[i] + w[i], x[j] + w[j])
            keep = (overlap >= 0.5 * small_h) & (big_h <= 2.5 * small_h) & (gap <= 1.3 * big_h)
            firsts.append(order[i[keep]])
            seconds.append(order[j[keep]])
        start = stop
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def _group_labels(blobs: np.ndarray) -> np.ndarray:
    """A line label per blob: blobs linked by :func:`_linked_pairs` share one.

    Labels are propagated along the links (each pair takes the smaller label) until
    nothing changes, vectorised: a line of n glyphs settles in about n rounds, and a
    textured frame's thousands of blobs cost no Python loop per blob.
    """
    labels = np.arange(len(blobs))
    rows, cols = _linked_pairs(blobs)
    if not len(rows):
        return labels
    while True:
        low = np.minimum(labels[rows], labels[cols])
        before = labels.copy()
        np.minimum.at(labels, rows, low)
        np.minimum.at(labels, cols, low)
        labels = labels[labels]  # jump to the root's label
        if np.array_equal(labels, before):
            return labels


def _group_median(
    values: np.ndarray, group: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """``np.median`` of ``values`` per group, all groups at once (members sorted by group,
    group ``k`` at ``starts[k]``, ``counts[k]`` long): one sort instead of a call per line,
    which cost more than the rest of the screen on textured frames."""
    ordered = values[np.lexsort((values, group))].astype(np.float64)
    return (ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]) / 2


def _group_lines(blobs: np.ndarray) -> list[np.ndarray]:
    """Blobs that sit on one text line (see :func:`_linked_pairs`), group by group."""
    if len(blobs) == 0:
        return []
    labels = _group_labels(blobs)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return [blobs[idx] for idx in np.split(order, bounds)]


def find_candidates(
    gray: np.ndarray, min_span: float = 0.0, strokes: bool = False
) -> list[Candidate]:
    """Text-line candidates of one 8-bit frame, largest first, at most ``MAX_LINES``.

    Lone blobs narrower than ``min_span`` heights are dropped before any per-line work
    (the screen rejects them anyway; a textured frame has thousands). ``strokes``: ``gray``
    is a :func:`stroke_image`.
    """
    blobs = _blobs(gray, strokes)
    if len(blobs) > MAX_BLOBS:
        # Texture: prefer compact, high-contrast-edge blobs of glyph size.
        order = np.argsort(-blobs[:, 4])
        blobs = blobs[order[:MAX_BLOBS]]
    lines: list[Candidate] = []
    if not len(blobs):
        return lines
    labels = _group_labels(blobs)
    sizes = np.bincount(labels, minlength=len(blobs))
    alone = sizes[labels] == 1
    singles = blobs[alone & (blobs[:, 2] >= min_span * blobs[:, 3])]
    lines = [
        Candidate(int(x0), int(y0), int(w), int(h), int(h), 1, 0.0) for x0, y0, w, h, _ in singles
    ]
    grouped = ~alone
    order = np.argsort(labels[grouped], kind="stable")
    members = blobs[grouped][order]
    if not len(members):
        lines.sort(key=lambda c: -(c.w * c.h))
        return lines[:MAX_LINES]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(labels[grouped][order])) + 1))
    gx0 = np.minimum.reduceat(members[:, 0], starts)
    gy0 = np.minimum.reduceat(members[:, 1], starts)
    gx1 = np.maximum.reduceat(members[:, 0] + members[:, 2], starts)
    gy1 = np.maximum.reduceat(members[:, 1] + members[:, 3], starts)
    wide = (gx1 - gx0) >= min_span * (gy1 - gy0)
    counts = np.diff(np.append(starts, len(members)))
    group = np.repeat(np.arange(len(starts)), counts)
    heights = members[:, 3]
    glyph_hs = _group_median(heights, group, starts, counts).astype(np.int64)
    tops, bottoms = members[:, 1], members[:, 1] + heights
    deviations = np.minimum(
        _group_median(
            np.abs(tops - _group_median(tops, group, starts, counts)[group]), group, starts, counts
        ),
        _group_median(
            np.abs(bottoms - _group_median(bottoms, group, starts, counts)[group]),
            group,
            starts,
            counts,
        ),
    )
    for index in np.flatnonzero(wide):
        x0, y0, x1, y1 = int(gx0[index]), int(gy0[index]), int(gx1[index]), int(gy1[index])
        glyph_h = int(glyph_hs[index])
        w, h = x1 - x0, y1 - y0
        if h > 3 * glyph_h or w < 0.3 * glyph_h:
            continue
        deviation = float(deviations[index])
        lines.append(
            Candidate(x0, y0, w, h, glyph_h, int(counts[index]), deviation / max(glyph_h, 1))
        )
    lines.sort(key=lambda c: -(c.w * c.h))
    return lines[:MAX_LINES]


#: The screen: a line must be this many line heights wide (three characters or more;
#: shorter is an orientation marker or a unit at most, and carries no identity).
SCREEN_MIN_SPAN = 2.0
#: A line of a few glyphs is about as tall as its glyphs; taller groups are stacked
#: structure. Five or more glyph-sized blobs in a row get half as much again (italic and
#: script glyphs break into pieces of several heights).
SCREEN_MAX_LINE_TO_GLYPH = 1.6
#: Strokes must reach this far (8-bit levels) from the line's background.
SCREEN_MIN_CONTRAST = 40
#: Ink transitions along the line's middle row per glyph height of width (text: ~1 or more).
SCREEN_MIN_TRANSITIONS = 1.0
#: Glyphs of a line share a top (capitals, digits) or a baseline: deviation in glyph heights.
SCREEN_MAX_MISALIGNMENT = 0.12
#: The loose screen (stroke image): line-to-glyph factor, extra stroke width (px; a tenth
#: of it per line height), and share of the crossings.
LOOSE_TALL = 1.6
LOOSE_STROKE = 1.5
LOOSE_TRANSITIONS = 0.5
LOOSE_MIN_BLOBS = 3
LOOSE_WORD_SPAN = 4.0


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) through ``np.partition`` on the
    two order statistics it needs: the screen calls it per candidate, and numpy's general
    version costs several times more on crops this small."""
    flat = values.reshape(-1)
    position = q / 100 * (flat.size - 1)
    low = int(position)
    high = min(low + 1, flat.size - 1)
    parts = np.partition(flat, (low, high))
    a, b = float(parts[low]), float(parts[high])
    return a + (b - a) * (position - low)


def _ink(crop: np.ndarray) -> np.ndarray | None:
    """Pixels far from the crop's background level, or None when the contrast is too low."""
    values = crop.astype(np.int16)
    distance = np.abs(values - background_level(crop))
    contrast = _percentile(distance, 98)
    if contrast < SCREEN_MIN_CONTRAST:
        return None
    return distance > contrast / 2


def looks_like_text(gray: np.ndarray, cand: Candidate, loose: bool = False) -> bool:
    """The cheap screen (no OCR): whether a candidate line may be text worth reading.

    A text line is two or more glyphs wide, its glyphs sit on a common baseline, its
    strokes contrast with the background and are thin next to its height, and a row
    through its middle crosses many strokes. Anatomy that the blob stage lets through is
    mostly single round blobs, pairs, or thick structure, and fails one of these.

    ``loose`` (on a :func:`stroke_image`, whose flagged windows the learned detector and
    its reader confirm): taller groups (text merged with nearby strokes), thicker strokes
    (anti-aliased halos) and fewer crossings (dot-matrix fonts) pass too.
    """
    tall, thick, crossings = (
        (LOOSE_TALL, LOOSE_STROKE, LOOSE_TRANSITIONS) if loose else (1.0, 0.0, 1.0)
    )
    if cand.w < SCREEN_MIN_SPAN * max(cand.glyph_height, cand.h):
        return False
    if loose and cand.blobs < LOOSE_MIN_BLOBS and cand.w < LOOSE_WORD_SPAN * cand.h:
        return False  # loose only for rows of glyphs, or a whole small word in one blob
    many = cand.blobs >= 5
    if (
        cand.blobs >= 2
        and cand.h > SCREEN_MAX_LINE_TO_GLYPH * (1.5 if many else 1) * tall * cand.glyph_height
    ):
        return False
    # Two blobs (two words, or a word and a glyph) have one deviation between them: looser.
    # Five or more glyph-sized blobs in a row are text-like enough (italic and script
    # glyphs do not share a top or a baseline).
    limit = SCREEN_MAX_MISALIGNMENT * (2 if cand.blobs == 2 or many else 1)
    if cand.blobs >= 2 and cand.misalignment > limit:
        return False
    crop = gray[cand.y : cand.y + cand.h, cand.x : cand.x + cand.w]
    ink = _ink(crop)
    if ink is None or not ink.any():
        return False
    share = float(ink.mean())
    if share > 0.7 or share < 0.04:
        return False
    # The line's own height, not the median blob's: broken (italic, script) glyphs make
    # small blobs in a tall line.
    height = max(cand.glyph_height, cand.h)
    padded = np.pad(ink.astype(np.uint8), 1)
    half_width = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1][ink]
    stroke = 2.0 * _percentile(half_width, 90)
    if stroke > max(3.5 + thick, (0.4 + thick / 10) * height):
        return False
    rows = ink[max(0, cand.h // 2 - cand.h // 4) : cand.h // 2 + cand.h // 4 + 1]
    transitions = np.abs(np.diff(rows.astype(np.int8), axis=1)).sum(axis=1).max()
    return float(transitions) / 2 >= SCREEN_MIN_TRANSITIONS * crossings * cand.w / height
