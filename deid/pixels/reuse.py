"""What the detector found for a flagged line, remembered by place: within a file and across
the files of one series.

Fixed annotation sits at the same place on every frame of a file, and a CT table, a fixed
label or a device logo at the same place on every slice of a series. Running the detector
again on pixels it has already judged costs a window per frame or file and finds nothing
new, so a flagged line at a remembered place is looked up first:

* **same file** (earlier frame): the line's own box, nearly the same pixels (mean absolute
  difference :data:`deid.pixels.learned.DUPLICATE_TOLERANCE`): fixed text over changing
  content costs one frame;
* **earlier file of the same series** (same SeriesInstanceUID, frame shape and allowed
  tokens): the line's box *with its surroundings* (:data:`CONTEXT` heights sideways, half a
  height up and down) must be *nearly identical*: at most :data:`SERIES_PIXELS` pixels
  differ by more than :data:`SERIES_LEVELS` levels. A new name beside a remembered label,
  or a line where a different one was, breaks that and is looked at afresh; a reused
  negative result can never hide text that differs from what was judged.

Memory is bounded: :data:`MAX_SERIES` series (least recently used dropped), at most
:data:`MAX_PLACES` places per series and :data:`PER_PLACE` crops per place. Only pixel crops
and rectangles are kept, never text; nothing is shared between series.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

from deid.pixels.candidates import Candidate
from deid.pixels.learned import near_duplicate
from deid.pixels.regions import Rect

#: Across files: pixels differing by more than this many levels ...
SERIES_LEVELS = 24
#: ... may number at most this many in the line and its surroundings.
SERIES_PIXELS = 4
#: Surroundings compared across files, in line heights sideways (vertical: half of it).
CONTEXT = 2.0
MAX_SERIES = 8
MAX_PLACES = 512
PER_PLACE = 4


def _context_box(cand: Candidate, shape: tuple[int, int]) -> Rect:
    rows, columns = shape
    side, up = round(CONTEXT * cand.h), max(2, round(CONTEXT * cand.h / 4))
    x0, y0 = max(0, cand.x - side), max(0, cand.y - up)
    x1, y1 = min(columns, cand.x + cand.w + side), min(rows, cand.y + cand.h + up)
    return x0, y0, x1 - x0, y1 - y0


def _crop(frame: np.ndarray, box: Rect) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]


def nearly_identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two crops are the same pixels but for a few noisy ones (:data:`SERIES_LEVELS`,
    :data:`SERIES_PIXELS`): the bar a reused negative result must clear."""
    if a.shape != b.shape:
        return False
    differ = np.abs(a.astype(np.int16) - b.astype(np.int16)) > SERIES_LEVELS
    return int(np.count_nonzero(differ)) <= SERIES_PIXELS


@dataclass
class _Seen:
    file: int
    tight: np.ndarray
    context: np.ndarray
    boxes: list[Rect]


@dataclass
class LineMemory:
    """Results by line place for one series (or one file when there is no series)."""

    places: OrderedDict[Rect, list[_Seen]] = field(default_factory=OrderedDict)
    files: int = 0

    def next_file(self) -> None:
        self.files += 1

    def recall(self, frame: np.ndarray, cand: Candidate) -> list[Rect] | None:
        """The boxes found earlier for this line, or None when it must be looked at."""
        rect = (cand.x, cand.y, cand.w, cand.h)
        entries = self.places.get(rect)
        if not entries:
            return None
        tight = _crop(frame, rect)
        context = None
        for seen in entries:
            if seen.file == self.files:
                if near_duplicate(seen.tight, tight):
                    return seen.boxes
                continue
            if context is None:
                context = _crop(frame, _context_box(cand, frame.shape[:2]))
            if nearly_identical(seen.context, context):
                self.places.move_to_end(rect)
                return seen.boxes
        return None

    def remember(self, frame: np.ndarray, cand: Candidate, boxes: list[Rect]) -> None:
        rect = (cand.x, cand.y, cand.w, cand.h)
        context = _crop(frame, _context_box(cand, frame.shape[:2])).copy()
        entries = self.places.setdefault(rect, [])
        entries.insert(0, _Seen(self.files, _crop(frame, rect).copy(), context, list(boxes)))
        del entries[PER_PLACE:]
        self.places.move_to_end(rect)
        while len(self.places) > MAX_PLACES:
            self.places.popitem(last=False)


class SeriesMemory:
    """One :class:`LineMemory` per series key, least recently used dropped, thread-safe
    (a process may run files of different series in threads)."""

    def __init__(self, size: int = MAX_SERIES) -> None:
        self._items: OrderedDict[Hashable, LineMemory] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def checkout(self, key: Hashable | None) -> LineMemory:
        """The memory of ``key`` (a new one for None), moved on to a new file; hand it back
        with :meth:`checkin` when the file is done (two files of one series at once each
        get their own)."""
        if key is None:
            return LineMemory()
        with self._lock:
            memory = self._items.pop(key, None)
        memory = memory or LineMemory()
        memory.next_file()
        return memory

    def checkin(self, key: Hashable | None, memory: LineMemory) -> None:
        if key is None:
            return
        with self._lock:
            self._items[key] = memory
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_MEMORIES: weakref.WeakKeyDictionary[object, SeriesMemory] = weakref.WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def memory_for(cache: object) -> SeriesMemory:
    """The series memory that lives as long as ``cache`` (the OCR hash cache): the process
    wide cache gets a process wide memory; a caller that brings a fresh cache (a test, a
    preview) starts from nothing here too."""
    with _MEMORIES_LOCK:
        memory = _MEMORIES.get(cache)
        if memory is None:
            memory = _MEMORIES[cache] = SeriesMemory()
        return memory
