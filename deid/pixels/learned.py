"""Text lines in the windows the cheap screen flags: PP-OCR's DB detector, then its reader.

The screen (:mod:`deid.pixels.candidates`) only says *where* text may be. Each flagged
line becomes a window: the line's band, widened sideways (a flagged fragment is rarely the
whole line) and enlarged so small glyphs reach the size the detector was trained on. The
DB detector outlines every text line in the window, whatever its font, polarity or
background (dark margins, light bars, label boxes, anatomy, photographs); the recogniser
then reads each outline, and only outlines that read as text are filled: DB alone also
outlines anatomy that looks like strokes.

Windows at the same place with (nearly) the same pixels share one result, within a file
(fixed annotation on every frame costs one frame) and across files of a process (hash
cache: a device's fixed label in every file of a series).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from deid.pixels import ppocr
from deid.pixels.candidates import Candidate

Rect = tuple[int, int, int, int]

#: Glyph height (px) the detector sees best; smaller text is enlarged up to ``MAX_SCALE``.
TARGET_GLYPH = 18
MAX_SCALE = 3.0
#: Large text is shrunk towards the same size (cost falls with the square of the scale).
MIN_SCALE = 0.5
#: A window is the flagged line's band grown by this many line heights up and down, and
#: this many sideways (at least ``MIN_SIDE`` px), clipped to the frame.
BAND_PAD = 1.0
SIDE_PAD = 8.0
MIN_SIDE = 48
#: Up and down at least this much (px): a flagged fragment may belong to larger text.
MIN_BAND = 20
#: Times a window is widened over a line that runs into its edge.
WIDEN_ROUNDS = 3
EDGE_REACH = 1.5
#: Growth over strokes beside a confirmed outline: largest gap and reach, in heights.
GROW_GAP = 0.6
GROW_REACH = 2.0
#: Rows kept above and below the outermost stroke rows, in outline heights.
TRIM_PAD = 0.15
#: Largest window (detector input pixels after scaling): bigger ones are scaled down.
MAX_INPUT_PIXELS = 384 * 384
#: Outlines grow by this share of their height on every side (anti-aliased edges, flourishes
#: DB's unclip does not reach).
OUTLINE_PAD = 0.08
#: Sideways outlines grow by this share of their height (about a glyph: DB drops a last
#: glyph that touches anatomy).
OUTLINE_PAD_X = 0.4
#: What the reader must produce for an outline to count as text: at least this many
#: characters that are letters, digits or common annotation punctuation, with at least this
#: mean confidence; or fewer, surer characters.
MIN_CHARS = 3
MIN_SCORE = 0.35
SHORT_CHARS = 2
SHORT_SCORE = 0.8
#: The recogniser reads at most this many outline heights of a line.
READ_SPAN = 8
#: Mean absolute difference (8-bit) under which two windows are the same annotation.
DUPLICATE_TOLERANCE = 3.0
_TEXTISH = re.compile(r"[A-Za-z0-9+\-^/:.,()*#%&=_|']")
_TOKEN_STRIP = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


@dataclass(frozen=True)
class Window:
    """A region of one frame to run the detector on, and how much to enlarge it."""

    x: int
    y: int
    w: int
    h: int
    scale: float


def _window_for(cand: Candidate, rows: int, columns: int) -> Window:
    height = max(cand.h, cand.glyph_height, 4)
    pad_y = max(MIN_BAND, round(BAND_PAD * height))
    pad_x = max(MIN_SIDE, round(SIDE_PAD * height))
    x0, y0 = max(0, cand.x - pad_x), max(0, cand.y - pad_y)
    x1, y1 = min(columns, cand.x + cand.w + pad_x), min(rows, cand.y + cand.h + pad_y)
    scale = min(MAX_SCALE, max(MIN_SCALE, TARGET_GLYPH / max(cand.glyph_height, 1)))
    return Window(x0, y0, x1 - x0, y1 - y0, scale)


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Union overlapping windows of similar enlargement (the larger wins) until none
    overlap: small text beside large text keeps a window of its own, so the large one is
    not enlarged for it."""
    merged = list(windows)
    changed = True
    while changed:
        changed = False
        out: list[Window] = []
        for win in merged:
            for index, other in enumerate(out):
                if (
                    max(win.scale, other.scale) <= 1.5 * min(win.scale, other.scale)
                    and win.x < other.x + other.w
                    and other.x < win.x + win.w
                    and win.y < other.y + other.h
                    and other.y < win.y + win.h
                ):
                    x0, y0 = min(win.x, other.x), min(win.y, other.y)
                    x1 = max(win.x + win.w, other.x + other.w)
                    y1 = max(win.y + win.h, other.y + other.h)
                    out[index] = Window(x0, y0, x1 - x0, y1 - y0, max(win.scale, other.scale))
                    changed = True
                    break
            else:
                out.append(win)
        merged = out
    return merged


def windows_for(candidates: Sequence[Candidate], shape: tuple[int, int]) -> list[Window]:
    rows, columns = shape
    return merge_windows(_window_for(c, rows, columns) for c in candidates)


def _tokens(text: str) -> list[str]:
    return [t for t in (_TOKEN_STRIP.sub("", p) for p in text.split()) if t]


def reads_as_text(reading: ppocr.Reading, allow: frozenset[str]) -> bool:
    """Whether a reading is identifying text: enough sure characters, not only allowed
    tokens (orientation markers, units)."""
    chars = len(_TEXTISH.findall(reading.text))
    if not (
        (chars >= MIN_CHARS and reading.score >= MIN_SCORE)
        or (chars >= SHORT_CHARS and reading.score >= SHORT_SCORE)
    ):
        return False
    tokens = [t.lower() for t in _tokens(reading.text)]
    return not (tokens and allow and all(t in allow for t in tokens))


def grow_over_strokes(
    strokes: np.ndarray, box: Rect, level: int, texture_stop: bool = False
) -> Rect:
    """Grow a confirmed outline sideways over the thin strokes on its band.

    DB can stop a glyph or two short where text runs onto bright anatomy; the stroke image
    (:func:`~deid.pixels.candidates.stroke_image`) still shows those glyphs. The outline
    takes in stroke columns up to a gap of ``GROW_GAP`` heights, at most ``GROW_REACH``
    heights on each side. ``texture_stop``: a side whose strokes run on to the reach
    without a gap is texture (speckle, a photograph), not the rest of the line: that side
    does not grow.
    """
    x, y, w, h = box
    columns = strokes.shape[1]
    ink = np.asarray((strokes[y : y + h] > level).any(axis=0), dtype=bool)
    gap, reach = max(2, round(GROW_GAP * h)), round(GROW_REACH * h)

    def walk(start: int, step: int) -> int:
        last, cursor = start, start + step
        while 0 <= cursor < columns and abs(cursor - start) <= reach:
            if ink[cursor]:
                last = cursor
            elif abs(cursor - last) > gap:
                break
            cursor += step
        else:
            if texture_stop and 0 <= cursor < columns:
                return start  # ink all the way to the reach: texture
        return last

    left, right = walk(x, -1), walk(x + w - 1, 1)
    # DB's unclipped outline of small text is two or three times the text's height: rows
    # without any stroke contrast (half the ink level) hold nothing visible and are let go.
    rows_ink = np.flatnonzero((strokes[y : y + h, left : right + 1] > level // 2).any(axis=1))
    if len(rows_ink):
        top, bottom = y + int(rows_ink[0]), y + int(rows_ink[-1]) + 1
        keep = max(2, round(TRIM_PAD * h))
        y0, y1 = max(y, top - keep), min(y + h, bottom + keep)
        return left, y0, right - left + 1, y1 - y0
    return left, y, right - left + 1, h


def _pad(box: Rect, rows: int, columns: int) -> Rect:
    x, y, w, h = box
    pad, side = max(1, round(OUTLINE_PAD * h)), max(2, round(OUTLINE_PAD_X * h))
    x0, y0 = max(0, x - side), max(0, y - pad)
    x1, y1 = min(columns, x + w + side), min(rows, y + h + pad)
    return x0, y0, x1 - x0, y1 - y0


def _outlines(frame: np.ndarray, win: Window) -> list[Rect]:
    """DB outlines in ``win`` (frame coordinates), the window widened while a line runs
    into its left or right edge (a flagged fragment of a longer line)."""
    _rows, columns = frame.shape[:2]
    for _ in range(WIDEN_ROUNDS + 1):
        crop = frame[win.y : win.y + win.h, win.x : win.x + win.w]
        scale = win.scale
        if crop.shape[0] * crop.shape[1] * scale * scale > MAX_INPUT_PIXELS:
            # Bounded cost: a large window is enlarged less.
            scale = max(MIN_SCALE, (MAX_INPUT_PIXELS / (crop.shape[0] * crop.shape[1])) ** 0.5)
        outlines = [
            (x + win.x, y + win.y, w, h)
            for x, y, w, h, _ in ppocr.detect(ppocr.detector_input(crop), scale)
        ]
        # Touching: within EDGE_REACH outline heights of the edge (DB stops short of a
        # glyph the edge cuts).
        left = win.x > 0 and any(x <= win.x + EDGE_REACH * h for x, _, _, h in outlines)
        right = win.x + win.w < columns and any(
            x + w >= win.x + win.w - EDGE_REACH * h for x, _, w, h in outlines
        )
        if not (left or right):
            break
        grow = max(MIN_SIDE, win.h * 2)
        x0 = max(0, win.x - grow) if left else win.x
        x1 = min(columns, win.x + win.w + grow) if right else win.x + win.w
        win = Window(x0, win.y, x1 - x0, win.h, win.scale)
    return outlines


def text_in_window(
    frame: np.ndarray,
    win: Window,
    allow: frozenset[str],
    strokes: np.ndarray | None = None,
    level: int = 40,
) -> list[Rect]:
    """Confirmed text outlines (frame coordinates, grown over ``strokes`` when given,
    padded) in one window of one frame."""
    return confirm_outlines(frame, _outlines(frame, win), allow, strokes, level)


def confirm_outlines(
    frame: np.ndarray,
    outlines: Sequence[Rect],
    allow: frozenset[str],
    strokes: np.ndarray | None = None,
    level: int = 40,
    texture_stop: bool = False,
) -> list[Rect]:
    """The DB ``outlines`` (frame coordinates) the recogniser reads as text, grown over
    ``strokes`` when given (see :func:`grow_over_strokes`), and padded: what gets
    filled."""
    verdicts = read_outlines(frame, outlines, allow)
    confirmed = [box for box, text in zip(outlines, verdicts) if text]
    return finish_boxes(frame, confirmed, strokes, level, texture_stop)


def read_outlines(frame: np.ndarray, outlines: Sequence[Rect], allow: frozenset[str]) -> list[bool]:
    """Whether each outline reads as identifying text (see :func:`reads_as_text`)."""
    if not outlines:
        return []
    # Reading a line's first READ_SPAN heights decides whether it is text (the whole line is
    # filled); the recogniser's cost grows with the width it reads.
    crops = [frame[y : y + h, x : x + min(w, READ_SPAN * h)] for x, y, w, h in outlines]
    readings = ppocr.recognise(crops)
    return [
        # A line read only in part is never exempt as "allowed tokens only".
        reads_as_text(reading, allow if box[2] <= READ_SPAN * box[3] else frozenset())
        for box, reading in zip(outlines, readings)
    ]


def finish_boxes(
    frame: np.ndarray,
    confirmed: Sequence[Rect],
    strokes: np.ndarray | None = None,
    level: int = 40,
    texture_stop: bool = False,
) -> list[Rect]:
    """Confirmed outlines grown over ``strokes`` when given, then padded."""
    rows, columns = frame.shape[:2]
    boxes = list(confirmed)
    if strokes is not None:
        boxes = [grow_over_strokes(strokes, box, level, texture_stop) for box in boxes]
    return [_pad(box, rows, columns) for box in boxes]


def window_key(frame: np.ndarray, win: Window, allow: frozenset[str]) -> str:
    crop = frame[win.y : win.y + win.h, win.x : win.x + win.w]
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(crop).tobytes())
    digest.update(repr((win, sorted(allow))).encode())
    return digest.hexdigest()


def near_duplicate(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) <= DUPLICATE_TOLERANCE
    )
