"""Confirm candidate lines with Tesseract (in process), many crops per call.

Laying out a page costs more than reading a line, so the crops of a whole dataset
(all frames) are normalised to one text height, made dark-on-white, de-duplicated by
hash and stacked into one page that is read with ``--psm 6``; each word is mapped back to
its crop by its vertical position. Only the *decision* (text or not, allowed or not) is
cached by crop hash, never the text, so nothing identifying stays in memory longer than
one call.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from deid.pixels.candidates import background_level
from deid.pixels.tesseract import Word, read_words

#: Cap-height crops are scaled to (Tesseract reads best around 30 px).
TARGET_HEIGHT = 32
GAP = 16
PAGE_MAX_CROPS = 48
#: Crisp crops a page did not confirm that are read again alone, per call (cost bound).
SECOND_PASS_MAX = 12
#: Crisp crops (strokes on a flat background, the way devices burn text) need less
#: evidence than textured ones.
#: Confidence a crisp crop's word needs, by its count of letters/digits (1, 2, 3+). A lone
#: character never confirms: Tesseract reads blobs as "4" or "a" at 95 %, and one
#: character (an orientation marker) carries no identity.
CRISP_CONF = {1: 101.0, 2: 75.0, 3: 50.0}
#: Crops narrower than this many glyph heights hold one character: not worth a re-read.
RETRY_MIN_SPAN = 1.5
#: Characters read per glyph height of line width, at least (real text: about 1.5).
MIN_CHARS_PER_GLYPH = 0.3
#: Textured crops (anatomy, or text over anatomy): Tesseract reads junk from anatomy with
#: fair confidence, so demand a confident word of at least two letters/digits.
MIN_CONF = 70.0
LONG_READ_CHARS = 6
LONG_READ_CONF = 50.0
#: Crispness: share of pixels within a tolerance of the background level, and how far
#: (8-bit levels) the strokes reach from it.
CRISP_BACKGROUND_TOLERANCE = 8
CRISP_FLAT_SHARE = 0.3
CRISP_CONTRAST = 80.0
_WORD = re.compile(r"[A-Za-z0-9]")
_TOKEN_STRIP = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


@dataclass(frozen=True)
class Crop:
    """One candidate prepared for OCR: the dark-on-white, height-normalised image."""

    key: str
    image: np.ndarray
    crisp: bool
    #: Line width in glyph heights: how many characters the line can plausibly hold.
    span: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """Tesseract's decision for one crop: readable text, and whether all of it is allowed."""

    text: bool
    allowed_only: bool = False


def prepare_crop(gray: np.ndarray, box: tuple[int, int, int, int], glyph_height: int) -> Crop:
    """Cut, polarity-normalise and scale one candidate; the key hashes the raw crop.

    The line's own box decides the background level (most of a text line is background)
    and the polarity (which side of it the strokes reach further); the padding around
    the box is painted with that background, so neighbouring image content (a bar's
    edge, anatomy) does not confuse Tesseract's page layout.
    """
    x, y, w, h = box
    pad = max(3, glyph_height // 2)
    tight = gray[y : y + h, x : x + w]
    crisp = is_crisp(tight)
    key = hashlib.blake2b(
        tight.tobytes() + bytes(str(tight.shape), "ascii"), digest_size=16
    ).hexdigest()
    background = float(np.median(tight))
    low, high = (float(v) for v in np.percentile(tight, (2, 98)))
    line = tight.astype(np.float32)
    if high - background > background - low:  # bright strokes: make them dark
        line = 255.0 - line
        background, low, high = 255.0 - background, 255.0 - high, 255.0 - low
    # Stretch so the strokes are black and the background white, whatever their levels.
    span = max(background - low, 8.0)
    line = _drop_frames(np.clip((line - low) * (255.0 / span), 0, 255).astype(np.uint8))
    crop: np.ndarray = np.full((h + 2 * pad, w + 2 * pad), 255, dtype=np.uint8)
    crop[pad : pad + h, pad : pad + w] = line.astype(np.uint8)
    scale = TARGET_HEIGHT / max(glyph_height, 1)
    scale = min(max(scale, 0.5), 8.0)
    if abs(scale - 1.0) > 0.05:
        interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
    return Crop(key=key, image=crop, crisp=crisp, span=w / max(glyph_height, 1))


def _drop_frames(line: np.ndarray) -> np.ndarray:
    """Erase a label box's outline or rule (a thin dark component as wide as the line):
    Tesseract reads nothing inside a closed frame."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((line < 128).astype(np.uint8))
    rows, columns = line.shape
    wide = []
    for i in range(1, count):
        w, h, area = stats[i, 2:5]
        # A frame is an outline (low fill) or a rule (thin); merged bold glyphs are neither.
        if w >= 0.8 * columns and (h <= 0.25 * rows or area <= 0.3 * w * h):
            wide.append(i)
    if wide and columns >= 2 * rows:
        line = line.copy()
        line[np.isin(labels, wide)] = 255
    return line


def is_crisp(crop: np.ndarray) -> bool:
    """Strokes on a flat background: most pixels sit at the background level, the rest
    reach far from it.

    Burned-in annotation is drawn on black margins or bars, so most of its crop is one
    value (anti-aliased edges aside) and its strokes contrast strongly; anatomy varies
    smoothly everywhere. Counting pixels at the border's level tolerates anti-aliasing,
    which a two-class (Otsu) spread does not.
    """
    if crop.size < 16:
        return False
    values = crop.astype(np.int16)
    distance = np.abs(values - background_level(crop))
    flat = float((distance <= CRISP_BACKGROUND_TOLERANCE).mean())
    contrast = float(np.percentile(distance, 98))
    if flat < CRISP_FLAT_SHARE or contrast < CRISP_CONTRAST:
        return False
    ink = distance > contrast / 2
    # Bold text can outnumber its background: then the "background" found is the strokes,
    # so accept thin structure on either side of the split.
    return thin_strokes(ink) or thin_strokes(~ink)


def thin_strokes(ink: np.ndarray) -> bool:
    """Glyph strokes are thin next to the line height; a bright anatomical blob is not."""
    if not ink.any():
        return False
    padded = np.pad(ink.astype(np.uint8), 1)
    half_width = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1][ink]
    stroke = 2.0 * float(np.percentile(half_width, 90))
    return stroke <= max(3.5, 0.35 * ink.shape[0]) and float(ink.mean()) <= 0.6


def _tokens(text: str) -> list[str]:
    return [t for t in (_TOKEN_STRIP.sub("", p) for p in text.split()) if t]


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _confirmed(words: list[Word], crisp: bool, min_conf: float, span: float) -> bool:
    """Whether the words read in one crop make it text.

    Crisp crops look like annotation already, so a word confident for its length (short
    words need more), or a long low-confidence read (unusual fonts), confirms them.
    Textured crops are where Tesseract hallucinates short words in anatomy, so they need
    one confident word of three or more characters, or a long read (six or more
    characters, a word of four) of fair mean confidence, all on one text line: a
    candidate is one line, junk is read as scattered fragments. Either way, a long box
    from which only a few characters were read is fragments of something else.
    """
    total = sum(_alnum(w.text) for w in words)
    longest = max(_alnum(w.text) for w in words)
    if total < MIN_CHARS_PER_GLYPH * span:
        return False  # a few characters read from a long box: fragments of something else
    if crisp:
        return any(w.conf >= CRISP_CONF[min(_alnum(w.text), 3)] for w in words) or (
            total >= 5 and longest >= 3
        )
    if len({w.line for w in words}) > 1:
        return False
    if any(_alnum(w.text) >= 3 and w.conf >= min_conf for w in words):
        return True
    mean_conf = sum(w.conf for w in words) / len(words)
    return total >= LONG_READ_CHARS and longest >= 4 and mean_conf >= LONG_READ_CONF


def _verdict(words: Iterable[Word], allow: frozenset[str], min_conf: float, crop: Crop) -> Verdict:
    words = [w for w in words if _WORD.search(w.text)]
    if not words or not _confirmed(words, crop.crisp, min_conf, crop.span):
        return Verdict(text=False)
    tokens = [tok.lower() for w in words for tok in _tokens(w.text)]
    allowed_only = bool(tokens) and bool(allow) and all(tok in allow for tok in tokens)
    return Verdict(text=True, allowed_only=allowed_only)


def _read_page(crops: Sequence[Crop]) -> list[list[Word]]:
    """One Tesseract call over stacked crops; the words Tesseract read in each crop."""
    width = max(c.image.shape[1] for c in crops) + 2 * GAP
    height = sum(c.image.shape[0] + GAP for c in crops) + GAP
    page = np.full((height, width), 255, dtype=np.uint8)
    spans = []
    y = GAP
    for crop in crops:
        h, w = crop.image.shape
        page[y : y + h, GAP : GAP + w] = crop.image
        spans.append((y - GAP // 2, y + h + GAP // 2))
        y += h + GAP
    words: list[list[Word]] = [[] for _ in crops]
    for word in read_words(page, psm=6):
        centre = word.top + word.height / 2
        for index, (a, b) in enumerate(spans):
            if a <= centre < b:
                words[index].append(word)
                break
    return words


def _read_line(crop: Crop) -> list[Word]:
    """Tesseract on one crop as a single text line (``--psm 7``)."""
    return read_words(crop.image, psm=7)


class OcrCache:
    """Verdicts by crop hash, bounded and thread-safe, shared by all files of a process.

    Devices repeat the same labels in every frame and file; a repeated crop is read once.
    Only the decision is kept, keyed by a hash of pixels, never the text.
    """

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[tuple[str, float, frozenset[str]], Verdict] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()  # Dask runs tasks in threads of one process
        self.calls = 0

    def get(self, key: tuple[str, float, frozenset[str]]) -> Verdict | None:
        with self._lock:
            verdict = self._items.get(key)
            if verdict is not None:
                self._items.move_to_end(key)
            return verdict

    def put(self, key: tuple[str, float, frozenset[str]], verdict: Verdict) -> None:
        with self._lock:
            self._items[key] = verdict
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


DEFAULT_CACHE = OcrCache()


def confirm(
    crops: Sequence[Crop],
    allow_tokens: Iterable[str] = (),
    min_conf: float = MIN_CONF,
    cache: OcrCache | None = None,
) -> list[Verdict]:
    """A verdict per crop, running Tesseract once per page of unseen crops."""
    cache = DEFAULT_CACHE if cache is None else cache
    allow = frozenset(t.lower() for t in allow_tokens)
    verdicts: dict[str, Verdict] = {}
    todo: dict[str, Crop] = {}
    for crop in crops:
        hit = cache.get((crop.key, min_conf, allow))
        if hit is not None:
            verdicts[crop.key] = hit
        elif crop.key not in todo:
            todo[crop.key] = crop
    pending = list(todo.values())
    for start in range(0, len(pending), PAGE_MAX_CROPS):
        page = pending[start : start + PAGE_MAX_CROPS]
        cache.calls += 1
        for crop, words in zip(page, _read_page(page)):
            verdicts[crop.key] = _verdict(words, allow, min_conf, crop)
    # On a shared page Tesseract sometimes drops a line it reads fine alone; annotation-
    # looking (crisp) crops it did not confirm get a single-line reading of their own.
    retry = [
        c for c in pending if c.crisp and c.span >= RETRY_MIN_SPAN and not verdicts[c.key].text
    ][:SECOND_PASS_MAX]
    for crop in retry:
        cache.calls += 1
        verdicts[crop.key] = _verdict(_read_line(crop), allow, min_conf, crop)
    for crop in pending:
        cache.put((crop.key, min_conf, allow), verdicts[crop.key])
    return [verdicts[c.key] for c in crops]
