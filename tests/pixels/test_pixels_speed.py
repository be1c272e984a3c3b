"""What keeps a text-free CT/MR batch cheap: the screen's vectorised grouping, the DB probe
before a full window, and results reused across the slices of a series, never across
series and never where the pixels around a line changed."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from deid.pixels import candidates, detect, learned
from deid.pixels.candidates import Candidate
from deid.pixels.ocr import OcrCache
from deid.pixels.render import load_frames, to_gray8
from deid.pixels.reuse import LineMemory, SeriesMemory, nearly_identical


def _ct_gray() -> np.ndarray:
    """pydicom's 512x512 CT slice as the detector sees it (frames, rows, columns): its
    table edge is a row of thin stroke blobs the screen flags."""
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    return to_gray8(ds, load_frames(ds))


def _flagged(frame: np.ndarray) -> list[Candidate]:
    _, flagged, _ = detect._screen(frame, 0, None)
    return flagged


def test_linked_pairs_are_the_same_in_any_chunking(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    n = 400
    blobs = np.stack(
        [
            rng.integers(0, 500, n),
            rng.integers(0, 500, n),
            rng.integers(2, 30, n),
            rng.integers(5, 40, n),
            rng.integers(5, 100, n),
        ],
        axis=1,
    )
    whole = candidates._linked_pairs(blobs)
    monkeypatch.setattr(candidates, "PAIR_CHUNK", 37)
    chunked = candidates._linked_pairs(blobs)
    assert len(whole[0]) > 100
    assert sorted(zip(*whole, strict=True)) == sorted(zip(*chunked, strict=True))
    # Brute force: every pair the rule links, and only those.
    x, y, w, h = (blobs[:, i].astype(float) for i in range(4))
    centre = y + h / 2
    expected = set()
    for i in range(n):
        for j in range(n):
            if i == j or not (centre[i] <= centre[j] <= centre[i] + 1.25 * h[i]):
                continue
            if centre[i] == centre[j] and j < i:
                continue
            overlap = min(y[i] + h[i], y[j] + h[j]) - max(y[i], y[j])
            small, big = min(h[i], h[j]), max(h[i], h[j])
            gap = max(x[i], x[j]) - min(x[i] + w[i], x[j] + w[j])
            if overlap >= 0.5 * small and big <= 2.5 * small and gap <= 1.3 * big:
                expected.add(frozenset((i, j)))
    assert {frozenset(p) for p in zip(*whole, strict=True)} == expected


def test_more_components_than_16_bit_labels_hold_still_count() -> None:
    speckle = np.zeros((1024, 1024), dtype=np.uint8)
    speckle[::2, ::2] = 255  # 262144 separate pixels
    count, stats = candidates._components(speckle)
    assert count == 262145 and len(stats) == count


def test_text_free_ct_line_is_probed_and_no_window_opens(monkeypatch) -> None:
    gray = _ct_gray()
    assert _flagged(gray[0]), "the table edge should be flagged by the screen"

    def no_window(*args, **kwargs):
        raise AssertionError("a full window was run on a band DB outlines nothing in")

    monkeypatch.setattr(detect, "text_in_window", no_window)
    cache = OcrCache()
    assert detect.detect_text(gray, cache=cache) == []
    assert cache.calls == len(_flagged(gray[0]))  # one probe per flagged line


def test_a_probe_that_outlines_text_opens_the_window(monkeypatch) -> None:
    gray = _ct_gray().copy()
    cv2.putText(gray[0], "KOWALSKI 1961", (150, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    opened = []
    real = learned.text_in_window

    def counting(frame, win, *args, **kwargs):
        opened.append(win)
        return real(frame, win, *args, **kwargs)

    monkeypatch.setattr(detect, "text_in_window", counting)
    found = detect.detect_text(gray, cache=OcrCache())
    assert opened
    assert any(f.box[1] <= 80 <= f.box[1] + f.box[3] + 4 for f in found)


def test_a_series_looks_at_a_remembered_line_once() -> None:
    gray = _ct_gray()
    memory = SeriesMemory()
    first, second, other = OcrCache(), OcrCache(), OcrCache()
    assert detect.detect_text(gray, cache=first, series="1.2.3", memory=memory) == []
    assert first.calls >= 1
    # The next slice of the series: same place, same pixels, a cache that knows nothing.
    assert detect.detect_text(gray, cache=second, series="1.2.3", memory=memory) == []
    assert second.calls == 0
    # Another series is looked at afresh, and so is a file without a series.
    detect.detect_text(gray, cache=other, series="9.9.9", memory=memory)
    assert other.calls == first.calls
    none = OcrCache()
    detect.detect_text(gray, cache=none, memory=memory)
    assert none.calls == first.calls


def test_a_name_beside_a_remembered_line_is_read(monkeypatch) -> None:
    gray = _ct_gray()
    memory = SeriesMemory()
    detect.detect_text(gray, cache=OcrCache(), series="1.2.3", memory=memory)
    (line, *_) = _flagged(gray[0])
    named = gray.copy()
    cv2.putText(
        named[0],
        "OKONKWO",
        (line.x + line.w + 4, line.y + line.h),
        cv2.FONT_HERSHEY_PLAIN,
        0.8,
        255,
        1,
    )
    key = ("1.2.3", gray.shape[1:3], frozenset())
    lines = memory.checkout(key)  # as the next file of the series sees it
    assert lines.recall(gray[0], line) == []  # the same slice again: the remembered "no text"
    assert lines.recall(named[0], line) is None  # the pixels beside the line changed
    memory.checkin(key, lines)
    cache = OcrCache()
    found = detect.detect_text(named, cache=cache, series="1.2.3", memory=memory)
    assert cache.calls >= 1 and found


def test_nearly_identical_allows_noise_and_refuses_a_glyph() -> None:
    rng = np.random.default_rng(1)
    crop = rng.integers(0, 200, (30, 90)).astype(np.uint8)
    noisy = np.clip(crop.astype(int) + rng.integers(-6, 7, crop.shape), 0, 255).astype(np.uint8)
    assert nearly_identical(crop, noisy)
    glyph = crop.copy()
    cv2.putText(glyph, "A", (40, 20), cv2.FONT_HERSHEY_PLAIN, 0.6, 255, 1)
    assert not nearly_identical(crop, glyph)
    assert not nearly_identical(crop, crop[:, :-1])


def test_series_memory_is_bounded_least_recently_used_first() -> None:
    memory = SeriesMemory(size=2)
    for key in ("a", "b", "c"):
        lines = memory.checkout(key)
        lines.remember(np.zeros((20, 20), np.uint8), Candidate(1, 1, 8, 4, 4, 2), [])
        memory.checkin(key, lines)
    assert memory.checkout("a").places == {}  # dropped: the least recently used
    assert memory.checkout("c").places


def test_line_memory_keeps_a_bounded_number_of_places(monkeypatch) -> None:
    from deid.pixels import reuse

    monkeypatch.setattr(reuse, "MAX_PLACES", 3)
    lines = LineMemory()
    frame = np.zeros((50, 50), np.uint8)
    for x in range(6):
        lines.remember(frame, Candidate(x, 1, 8, 4, 4, 2), [])
    assert len(lines.places) == 3


@pytest.mark.parametrize("name", ["693_UNCR.dcm", "MR2_UNCR.dcm", "CT_small.dcm"])
def test_the_screen_flags_the_same_lines_as_the_per_line_medians(name: str) -> None:
    """The vectorised medians give what ``np.median`` per line gives."""
    ds = pydicom.dcmread(get_testdata_file(name))
    frame = to_gray8(ds, load_frames(ds))[0]
    for image, strokes in ((frame, False), (candidates.stroke_image(frame), True)):
        blobs = candidates._blobs(image, strokes)
        labels = candidates._group_labels(blobs)
        by_line = {}
        for label in np.unique(labels):
            group = blobs[labels == label]
            if len(group) > 1:
                x0, y0 = group[:, 0].min(), group[:, 1].min()
                by_line[(int(x0), int(y0))] = int(np.median(group[:, 3]))
        for cand in candidates.find_candidates(image, 0.0, strokes):
            if cand.blobs > 1:
                assert by_line[(cand.x, cand.y)] == cand.glyph_height
