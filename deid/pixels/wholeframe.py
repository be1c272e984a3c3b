"""PP-OCR's DB detector over the whole frame, for frames the cheap screen cannot judge.

The screen (:mod:`deid.pixels.candidates`) finds text by its strokes: thin lines of one
level on a flat ground. On ultrasound speckle, colour photographs, screen captures and
light backgrounds that ground is not flat: the gradient and the top-hat see strokes
everywhere, the screen's geometry rejects the rows they make, and text there is never
flagged (measured: nearly every line the pipeline missed was never flagged at all). For
those frames the learned detector looks at the whole frame, at a bounded input size: the
frame is scaled so it holds about ``FRAME_PIXELS`` detector pixels (small frames are
enlarged, at most ``MAX_SCALE``; large ones shrunk, at least ``MIN_SCALE``, and cut into
overlapping tiles so no inference is larger than ``TILE`` squared). Every outline is then
read by the recogniser exactly as the windows' outlines are
(:func:`~deid.pixels.learned.confirm_outlines`): anatomy that DB outlines does not read as
text and stays; allow-listed tokens stay.

Plain grey CT and MR frames never come here: their text-free slices are the bulk of a
batch, and the screen is reliable on their dark, smooth ground.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pydicom

from deid.pixels import ppocr
from deid.pixels.candidates import STROKE_CONTRAST, Candidate, stroke_image
from deid.pixels.learned import Rect, finish_boxes, read_outlines
from deid.pixels.ocr import OcrCache

Outline = tuple[int, int, int, int, float]

#: Detector input pixels a frame is scaled to (a 512x512 frame is enlarged 1.25x).
FRAME_PIXELS = 640 * 640
MAX_SCALE = 2.0
MIN_SCALE = 0.5
#: Largest single inference (detector pixels per side) and the overlap between tiles.
TILE = 960
OVERLAP = 96
#: Outlines read per frame at most (best DB score first): bounded cost on texture.
MAX_READ = 40
#: DB outlines smaller than this (px, frame coordinates) hold no readable text.
MIN_OUTLINE = 5
#: Outlines narrower than this many heights hold one glyph at most (the reading rule wants
#: two or more): anatomy blobs, not read.
MIN_ASPECT = 1.0
#: A rejected outline joins a confirmed line's band when it covers this share of the line's
#: rows, is at most this many line heights tall and this near (heights).
BAND_OVERLAP = 0.6
BAND_TALLEST = 4.0
BAND_GAP = 0.5
#: Modalities whose grey frames the screen judges well (dark, smooth ground).
SCREENED_MODALITIES = frozenset({"CT", "MR"})
#: Secondary Capture SOP classes (PS3.4 B.5): screen captures and viewer snapshots.
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
#: A frame whose median level is above this is a light background, whatever its modality.
LIGHT_MEDIAN = 160
#: A pixel is still when it stays within this many levels over every frame (noise, lossy
#: coding); when this share of a file's pixels is still, its frames are one image.
STILL_RANGE = 16
STILL_SHARE = 0.98
#: Share of stroke pixels above which a frame is texture (see :func:`textured`).
TEXTURED = 0.15


def wanted(ds: pydicom.Dataset, photometric: str) -> bool:
    """Whether the frames of ``ds`` go to the whole-frame detector: every frame that is
    not a plain grey CT or MR slice (ultrasound, colour, palette, secondary captures,
    projection radiography, nuclear medicine, anything else)."""
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        return True
    if str(ds.get("SOPClassUID", "")).startswith(SECONDARY_CAPTURE):
        return True
    modality = str(ds.get("Modality", "") or "").strip().upper()
    return modality not in SCREENED_MODALITIES


def light_background(frame: np.ndarray) -> bool:
    """A frame mostly light (a report, a form, a light viewer background): the screen's
    thresholds are tuned for dark ground. Sampled: milliseconds on any frame."""
    step = max(1, int(math.sqrt(frame.size / 4096)))
    return float(np.median(frame[::step, ::step])) > LIGHT_MEDIAN


def _scale(rows: int, columns: int) -> float:
    return min(MAX_SCALE, max(MIN_SCALE, math.sqrt(FRAME_PIXELS / max(rows * columns, 1))))


def outlines(frame: np.ndarray) -> list[Outline]:
    """DB outlines (x, y, w, h, score) of the whole frame, in frame coordinates."""
    rows, columns = frame.shape[:2]
    scale = _scale(rows, columns)
    found: list[Outline] = []
    if rows * columns * scale * scale <= TILE * TILE:
        ys, xs, side = [0], [0], max(rows, columns)
    else:
        side = max(1, int(TILE / scale))
        overlap = int(OVERLAP / scale)
        ys, xs = _starts(rows, side, overlap), _starts(columns, side, overlap)
    for y0 in ys:
        for x0 in xs:
            tile = frame[y0 : y0 + side, x0 : x0 + side]
            for x, y, w, h, score in ppocr.detect(tile, scale):
                if min(w, h) >= MIN_OUTLINE:
                    found.append((x + x0, y + y0, w, h, score))
    return _dedupe(found)


def _starts(length: int, side: int, overlap: int) -> list[int]:
    """Tile origins along one axis: as few tiles of ``side`` as cover ``length`` with at
    least ``overlap`` shared between neighbours, spread evenly."""
    if length <= side:
        return [0]
    count = math.ceil((length - overlap) / max(1, side - overlap))
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def _dedupe(found: list[Outline]) -> list[Outline]:
    """Drop outlines (mostly) inside another one: the same line seen by two tiles."""
    found.sort(key=lambda o: -(o[2] * o[3]))
    kept: list[Outline] = []
    for o in found:
        x, y, w, h, _ = o
        inside = False
        for k in kept:
            ix = min(x + w, k[0] + k[2]) - max(x, k[0])
            iy = min(y + h, k[1] + k[3]) - max(y, k[1])
            if ix > 0 and iy > 0 and ix * iy >= 0.8 * w * h:
                inside = True
                break
        if not inside:
            kept.append(o)
    return kept


def text_boxes(
    frame: np.ndarray,
    allow: frozenset[str],
    strokes: np.ndarray | None = None,
    level: int = 40,
    known: Sequence[Rect] = (),
) -> list[Rect]:
    """Confirmed text boxes of one frame, grown over ``strokes`` and padded as the
    windows' are, except over texture: these frames are the textured ones. Outlines
    already inside ``known`` boxes (found in another rendering) are not read again."""
    found = [o for o in outlines(ppocr.detector_input(frame)) if o[2] >= MIN_ASPECT * o[3]]
    if known:
        found = [o for o in found if not covered(o[:4], known)]
    boxes = [o[:4] for o in sorted(found, key=lambda o: -o[4])[:MAX_READ]]
    verdicts = read_outlines(frame, boxes, allow)
    confirmed = [box for box, text in zip(boxes, verdicts) if text]
    rejected = [box for box, text in zip(boxes, verdicts) if not text]
    confirmed = [take_in_band(box, rejected) for box in confirmed]
    return finish_boxes(frame, confirmed, strokes, level, textured(strokes, level))


def take_in_band(box: Rect, rejected: Sequence[Rect]) -> Rect:
    """Widen a confirmed line over the rejected outlines beside it on its band, on its
    own rows only.

    DB joins the end of a line to anatomy it touches (a Doppler blob, a bright organ) into
    one outline, which then does not read as text; the line's own outline stops where the
    join begins. The band of the line through that outline is the rest of the line."""
    x, y, w, h = box
    grown = True
    while grown:
        grown = False
        for rx, ry, rw, rh in rejected:
            overlap = min(y + h, ry + rh) - max(y, ry)
            gap = max(rx - (x + w), x - (rx + rw))
            if (
                overlap >= BAND_OVERLAP * h
                and rh <= BAND_TALLEST * h
                and gap <= BAND_GAP * h
                and not (rx >= x and rx + rw <= x + w)
            ):
                x0, x1 = min(x, rx), max(x + w, rx + rw)
                x, w = x0, x1 - x0
                grown = True
    return x, y, w, h


def textured(strokes: np.ndarray | None, level: int) -> bool:
    """Whether strokes cover so much of the frame (ultrasound speckle: a quarter and more;
    anatomy and photographs: under a seventh) that strokes beside a line are no sign of
    more text."""
    if strokes is None:
        return False
    step = max(1, int(math.sqrt(strokes.size / 16384)))
    return float((strokes[::step, ::step] > level).mean()) > TEXTURED


def frame_key(frame: np.ndarray, allow: frozenset[str]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((frame.shape, sorted(allow))).encode())
    digest.update(np.ascontiguousarray(frame).tobytes())
    return "wf-" + digest.hexdigest()


class FrameScan:
    """The whole-frame detector over the frames of one file.

    ``enabled``: the file's frames are of a kind the screen cannot judge (:func:`wanted`);
    otherwise the file is read whole only when its first frame is light. Frame 0 is read
    whole. A file of several frames is also read once as its *still image*: the pixels
    that stay within ``STILL_RANGE`` levels over every frame, the moving ones black.
    Burned-in annotation does not move, whatever moves under it (a cine loop's sector), so
    its boxes, found once, hold on every frame: a cine of 120 frames costs two reads, not
    120. When nearly every pixel stays (``STILL_SHARE``: noise, a still series) the still
    image is frame 0 and its one read serves every frame. Identical images are read once
    per process (``cache``, by pixel hash). ``known``: boxes another rendering found on
    frame 0, ``known_still``: boxes it found on every frame; outlines inside them are not
    read again in frame 0 and in the still image (whose boxes hold on every frame).
    """

    def __init__(
        self,
        gray: np.ndarray,
        enabled: bool,
        allow: frozenset[str],
        cache: OcrCache,
        known: Sequence[Rect] = (),
        known_still: Sequence[Rect] = (),
    ) -> None:
        self.gray = gray
        self.known = tuple(sorted(set(known)))
        self.known_still = tuple(sorted(set(known_still)))
        self.enabled = enabled or (len(gray) > 0 and light_background(gray[0]))
        self.allow = allow
        self.cache = cache
        self._first: list[Rect] = []
        self._still: list[Rect] | None = None

    def boxes(self, index: int, frame: np.ndarray, strokes: np.ndarray | None) -> list[Rect]:
        """The confirmed boxes on frame ``index`` (``strokes``: its stroke image)."""
        if not self.enabled:
            return []
        if index == 0:
            self._first = self._read(frame, strokes, self.known)
        still = [b for b in self._still_boxes() if index != 0 or b not in self._first]
        return (self._first if index == 0 else []) + still

    def _still_boxes(self) -> list[Rect]:
        if self._still is None:
            self._still = []
            if self.gray.shape[0] > 1:
                spread = self.gray.max(axis=0) - self.gray.min(axis=0)
                still = spread <= STILL_RANGE
                if float(still.mean()) >= STILL_SHARE and self.known == self.known_still:
                    self._still = list(self._first)
                else:
                    image = np.where(still, self.gray[0], 0).astype(np.uint8)
                    self._still = self._read(image, stroke_image(image), self.known_still)
        return self._still

    def _read(
        self, image: np.ndarray, strokes: np.ndarray | None, known: tuple[Rect, ...]
    ) -> list[Rect]:
        digest = hashlib.blake2b(repr(known).encode(), digest_size=8).hexdigest()
        key = (f"{frame_key(image, self.allow)}-{digest}", 0.0, self.allow)
        result: list[Rect] | None = self.cache.get(key)  # type: ignore[assignment]
        if result is None:
            self.cache.calls += 1
            result = text_boxes(image, self.allow, strokes, STROKE_CONTRAST, known)
            self.cache.put(key, result)  # type: ignore[arg-type]
        return result


def covered(rect: Rect, boxes: Sequence[Rect], share: float = 0.9) -> bool:
    """Whether ``share`` of ``rect``'s pixels lie inside the union of ``boxes`` (counted on
    a mask of the rectangle: overlapping boxes are not counted twice)."""
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return True
    inside = np.zeros((h, w), dtype=bool)
    for bx, by, bw, bh in boxes:
        x0, y0 = max(x, bx) - x, max(y, by) - y
        x1, y1 = min(x + w, bx + bw) - x, min(y + h, by + bh) - y
        if x1 > x0 and y1 > y0:
            inside[y0:y1, x0:x1] = True
    return float(inside.mean()) >= share


def uncovered(candidates: Sequence[Candidate], boxes: Sequence[Rect]) -> list[Candidate]:
    """The candidates not already (nearly) inside a box the whole-frame pass confirmed:
    only those still need a window."""
    if not boxes:
        return list(candidates)
    return [c for c in candidates if not covered((c.x, c.y, c.w, c.h), boxes)]
