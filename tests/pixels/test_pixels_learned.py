"""The learned detector on the windows the screen flags: text on anatomy, light bars and in
script fonts goes; anatomy, orientation markers and text-free real slices stay."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest
from pixels_synthetic import make_dataset, smooth_background
from pydicom.data import get_testdata_file

from deid.pixels import clean_pixels, ppocr
from deid.pixels.candidates import Candidate, find_candidates, stroke_image
from deid.pixels.learned import (
    Window,
    grow_over_strokes,
    merge_windows,
    reads_as_text,
    windows_for,
)
from deid.pixels.ocr import OcrCache
from deid.pixels.render import load_frames
from deid.recipe.model import PixelSettings


def _ct_display() -> np.ndarray:
    """pydicom's 512x512 CT slice as 8-bit display values (a real text-free background)."""
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    arr = ds.pixel_array.astype(np.float32)
    low, high = np.percentile(arr, (0.5, 99.5))
    return np.clip((arr - low) * 255 / (high - low), 0, 255).astype(np.uint8)


def _draw(image: np.ndarray, text: str, origin, font, scale: float, value: int) -> np.ndarray:
    canvas = np.zeros(image.shape, dtype=np.uint8)
    cv2.putText(canvas, text, origin, font, scale, 255, 1, cv2.LINE_AA)
    alpha = canvas.astype(np.float32) / 255
    image[...] = (image * (1 - alpha) + value * alpha).astype(np.uint8)
    return canvas > 100


def test_windows_of_similar_scale_merge_and_small_text_keeps_its_own() -> None:
    big = Window(0, 0, 100, 40, 1.0)
    near = Window(80, 10, 60, 30, 1.2)
    small = Window(50, 20, 40, 20, 3.0)
    merged = merge_windows([big, near, small])
    assert Window(0, 0, 140, 40, 1.2) in merged
    assert small in merged and len(merged) == 2


def test_windows_cover_the_flagged_line_with_room_around_it() -> None:
    cand = Candidate(x=200, y=100, w=60, h=12, glyph_height=10, blobs=5)
    (win,) = windows_for([cand], (512, 512))
    assert win.x < 200 and win.x + win.w > 260 and win.y < 100 and win.y + win.h > 112
    assert win.scale > 1  # 10 px glyphs are enlarged for the detector


@pytest.mark.parametrize(
    ("text", "score", "expected"),
    [
        ("GARCIA^MARIA", 0.95, True),
        ("ID 4815162", 0.5, True),
        ("o", 0.99, False),  # one character: a blob read as a letter
        ("E8", 0.4, False),  # two unsure characters
        ("精中兴", 0.13, False),  # what the recogniser makes of anatomy
        ("L", 0.99, False),
        ("cm", 0.99, False),  # an allowed unit
        ("R mm", 0.9, False),  # allowed tokens only
    ],
)
def test_reading_decides_what_is_text(text: str, score: float, expected: bool) -> None:
    allow = frozenset({"l", "r", "cm", "mm"})
    assert reads_as_text(ppocr.Reading(text, score), allow) is expected


def test_confirmed_outline_grows_over_the_strokes_beside_it() -> None:
    image = np.zeros((60, 300), dtype=np.uint8)
    mask = _draw(image, "ID 52751499", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255)
    end = int(np.nonzero(mask.any(axis=0))[0].max())
    strokes = stroke_image(image)
    stopped = end - 10 - 33  # DB's outline ends a glyph and a half (33 px) short
    x, y, w, h = grow_over_strokes(strokes, (10, 16, stopped, 30), 40)
    assert x <= 11 and x + w >= end  # the digits the outline stopped short of
    assert x + w <= end + 3  # and not beyond them
    rows = np.flatnonzero(mask.any(axis=1))
    assert y <= rows[0] and y + h > rows[-1]  # the rows trimmed keep every stroke row
    assert h < 30  # the empty rows of the outline are let go


def test_text_free_ct_slice_is_not_touched(settings: PixelSettings) -> None:
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    before = ds.PixelData
    outcome = clean_pixels(ds, settings, cache=OcrCache())
    assert not outcome.changed and outcome.quarantine_reason is None
    assert ds.PixelData is before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("font", "value", "where"),
    [
        (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 255, (150, 260)),  # script over anatomy
        (cv2.FONT_HERSHEY_COMPLEX | cv2.FONT_ITALIC, 255, (140, 300)),  # italic over anatomy
        (cv2.FONT_HERSHEY_SIMPLEX, 0, (12, 24)),  # dark text on a light title bar
    ],
)
def test_text_over_a_real_ct_slice_is_removed(font: int, value: int, where) -> None:
    image = _ct_display()
    if value == 0:
        image[:36] = 220  # a light title bar
    mask = _draw(image, "KOWALSKI^PIOTR 1961", where, font, 0.9, value)
    ds = make_dataset(image, "MONOCHROME2", 8, modality="CT", burned_in=None)
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.changed
    filled = np.zeros(image.shape, dtype=bool)
    for _, x, y, w, h in outcome.boxes:
        filled[y : y + h, x : x + w] = True
    assert filled[mask].mean() >= 0.95
    assert filled.mean() < 0.05  # the slice itself stays


@pytest.mark.slow
def test_fixed_text_on_every_frame_is_detected_once() -> None:
    """Ten frames of changing content under the same label cost one frame's detector runs
    (the label's window takes in content below the bar, different in every frame)."""
    frames = []
    for index in range(10):
        frame = (smooth_background((256, 320), seed=index) * 200).astype(np.uint8)
        frame[:30] = 0
        cv2.putText(frame, "ST MARY HOSPITAL", (8, 22), cv2.FONT_HERSHEY_PLAIN, 1.3, 255, 1)
        frames.append(frame)
    multi = make_dataset(np.stack(frames), "MONOCHROME2", 8, modality="XA", burned_in=None)
    single = make_dataset(frames[0], "MONOCHROME2", 8, modality="XA", burned_in=None)
    multi_cache, single_cache = OcrCache(), OcrCache()
    outcome = clean_pixels(multi, PixelSettings(enabled=True), cache=multi_cache)
    assert outcome.changed and {b[0] for b in outcome.boxes} == set(range(10))
    clean_pixels(single, PixelSettings(enabled=True), cache=single_cache)
    assert multi_cache.calls <= single_cache.calls + 2
    stored = load_frames(multi).stored
    assert not find_candidates(stored[9][:30], 2.0)  # the label is gone from the last frame
    assert multi_cache.calls >= 1
