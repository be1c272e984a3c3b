"""The whole-frame detector: text the screen never flags (on ultrasound speckle, faint on
a light ground) goes; text-free speckle stays; plain CT and MR slices never pay for it."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest
from pixels_synthetic import make_dataset
from pydicom.data import get_testdata_file

from deid.pixels import clean_pixels, ppocr, wholeframe
from deid.pixels.candidates import Candidate
from deid.pixels.detect import detect_text
from deid.pixels.ocr import OcrCache
from deid.pixels.tesseract import OcrUnavailable
from deid.recipe.model import PixelSettings

NAME = "OKONKWO^AMARA 1961"


def _speckle() -> np.ndarray:
    """pydicom's ultrasound image (RGB), cut to its speckle: no text of its own."""
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    return np.ascontiguousarray(ds.pixel_array[112:330, 50:590])


def _draw(image: np.ndarray, text: str, origin, scale: float, value) -> np.ndarray:
    """Anti-aliased text blended into ``image`` (in place); its stroke mask."""
    canvas = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 1, cv2.LINE_AA)
    alpha = canvas.astype(np.float32) / 255
    if image.ndim == 3:
        alpha = alpha[..., None]
    image[...] = (image * (1 - alpha) + np.asarray(value, dtype=np.float32) * alpha).astype(
        np.uint8
    )
    return canvas > 100


def _filled(outcome, shape) -> np.ndarray:
    filled = np.zeros(shape, dtype=bool)
    for _, x, y, w, h in outcome.boxes:
        filled[y : y + h, x : x + w] = True
    return filled


def _collateral(filled: np.ndarray, mask: np.ndarray, pad: int = 12) -> float:
    """Share of the frame filled farther than ``pad`` px from the text's box."""
    ys, xs = np.nonzero(mask)
    near = np.zeros(mask.shape, dtype=bool)
    near[max(0, ys.min() - pad) : ys.max() + pad, max(0, xs.min() - pad) : xs.max() + pad] = True
    return float((filled & ~near).mean())


def _dataset(pixels: np.ndarray, photometric: str, modality: str) -> pydicom.Dataset:
    ds = make_dataset(pixels, photometric, 8, modality=modality, burned_in=None)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    return ds


def test_which_frames_go_to_the_whole_frame_detector() -> None:
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    us = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    assert not wholeframe.wanted(ct, "MONOCHROME2")
    assert not wholeframe.wanted(mr, "MONOCHROME2")
    assert wholeframe.wanted(us, "RGB")
    assert wholeframe.wanted(ct, "YBR_FULL")  # a colour capture saved as CT
    ct.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # a secondary capture saved as CT
    assert wholeframe.wanted(ct, "MONOCHROME2")
    for modality in ("CR", "DX", "NM", "OT", "XA"):
        mr.Modality = modality
        assert wholeframe.wanted(mr, "MONOCHROME1")


def test_a_light_frame_is_recognised_in_milliseconds() -> None:
    dark = np.full((512, 512), 20, dtype=np.uint8)
    light = np.full((512, 512), 230, dtype=np.uint8)
    light[100:200, 100:300] = 10
    assert not wholeframe.light_background(dark)
    assert wholeframe.light_background(light)


def test_a_large_frame_is_read_in_bounded_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, float]] = []

    def detect(image: np.ndarray, scale: float = 1.0):
        seen.append((image.shape[0], image.shape[1], scale))
        return [(10, 10, 60, 12, 0.9)]  # one line per tile, at the same tile position

    monkeypatch.setattr(ppocr, "detect", detect)
    frame = np.zeros((3000, 2400), dtype=np.uint8)
    found = wholeframe.outlines(frame)
    assert len(seen) > 1
    for rows, columns, scale in seen:
        assert scale == wholeframe.MIN_SCALE
        assert rows * scale <= wholeframe.TILE and columns * scale <= wholeframe.TILE
    assert len(found) == len(seen)  # one per tile, none lost, none doubled
    # A small frame is one inference, enlarged.
    seen.clear()
    wholeframe.outlines(np.zeros((218, 540), dtype=np.uint8))
    assert len(seen) == 1 and 1.5 < seen[0][2] <= wholeframe.MAX_SCALE


def test_candidates_inside_confirmed_boxes_need_no_window() -> None:
    inside = Candidate(x=20, y=20, w=60, h=10, glyph_height=10, blobs=6)
    outside = Candidate(x=200, y=20, w=60, h=10, glyph_height=10, blobs=6)
    assert wholeframe.uncovered([inside, outside], [(10, 15, 100, 20)]) == [outside]
    assert wholeframe.uncovered([inside], []) == [inside]


def test_text_on_ultrasound_speckle_the_screen_misses_is_removed() -> None:
    image = _speckle()
    mask = _draw(image, NAME, (170, 90), 0.75, (255, 255, 255))
    gray = image.max(axis=-1)[np.newaxis]
    screened = detect_text(gray, cache=OcrCache())
    assert not any(_filled_box(f.box)[mask].mean() > 0.5 for f in screened)  # the screen alone
    ds = _dataset(image, "RGB", "US")
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.changed
    filled = _filled(outcome, image.shape[:2])
    assert filled[mask].mean() >= 0.95
    assert _collateral(filled, mask) < 0.03  # the speckle around stays


def _filled_box(box) -> np.ndarray:
    filled = np.zeros((218, 540), dtype=bool)
    x, y, w, h = box
    filled[y : y + h, x : x + w] = True
    return filled


def test_text_free_speckle_is_not_touched() -> None:
    ds = _dataset(_speckle(), "RGB", "US")
    before = ds.PixelData
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert not outcome.changed and outcome.quarantine_reason is None
    assert ds.PixelData is before


def test_allowed_tokens_stay_on_a_whole_frame() -> None:
    image = _speckle()
    _draw(image, "cm", (300, 60), 0.9, (255, 255, 255))
    ds = _dataset(image, "RGB", "US")
    settings = PixelSettings(enabled=True, allow_tokens=["cm"])
    outcome = clean_pixels(ds, settings, cache=OcrCache())
    assert not outcome.changed


@pytest.mark.slow
def test_faint_text_on_a_light_ground_is_removed() -> None:
    """Grey text a little lighter than the grey it sits on (a viewer's light theme): the
    equalised channel shows it to the detector."""
    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(205, 6, (384, 384)), 0, 255).astype(np.uint8)
    image = cv2.GaussianBlur(image, (5, 5), 0)
    mask = _draw(image, "ST MARY HOSPITAL", (10, 370), 0.5, 232)
    ds = _dataset(image, "MONOCHROME2", "DX")
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    filled = _filled(outcome, image.shape)
    assert filled[mask].mean() >= 0.95
    assert _collateral(filled, mask) < 0.01


def _count_reads(patch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = wholeframe.text_boxes

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    patch.setattr(wholeframe, "text_boxes", counting)
    return calls


def _cine(frames: list[np.ndarray]) -> pydicom.Dataset:
    ds = _dataset(np.stack(frames), "RGB", "US")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    return ds


@pytest.mark.slow
def test_still_frames_are_read_whole_once(monkeypatch: pytest.MonkeyPatch) -> None:
    image = _speckle()
    _draw(image, NAME, (170, 90), 0.75, (255, 255, 255))
    rng = np.random.default_rng(1)
    noisy = [
        np.clip(image.astype(np.int16) + rng.integers(-2, 3, image.shape), 0, 255) for _ in range(4)
    ]
    calls = _count_reads(monkeypatch)
    outcome = clean_pixels(_cine([f.astype(np.uint8) for f in noisy]), PixelSettings(enabled=True))
    assert outcome.changed and {b[0] for b in outcome.boxes} == set(range(4))
    assert len(calls) == 1


@pytest.mark.slow
def test_fixed_text_over_a_moving_cine_costs_two_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The speckle moves from frame to frame, the label over it does not: the still image
    (moving pixels black) shows the label, read once for all eight frames."""
    base = _speckle()
    frames, masks = [], []
    for shift in range(8):
        frame = np.ascontiguousarray(np.roll(base, 7 * shift, axis=1))
        masks.append(_draw(frame, NAME, (170, 90), 0.75, (255, 255, 255)))
        frames.append(frame)
    calls = _count_reads(monkeypatch)
    outcome = clean_pixels(_cine(frames), PixelSettings(enabled=True), cache=OcrCache())
    assert len(calls) == 2  # frame 0 and the still image
    for index, mask in enumerate(masks):
        filled = np.zeros(mask.shape, dtype=bool)
        for f, x, y, w, h in outcome.boxes:
            if f == index:
                filled[y : y + h, x : x + w] = True
        assert filled[mask].mean() >= 0.95, index


def test_plain_ct_slices_never_go_whole_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("whole-frame detector run on a plain CT slice")

    monkeypatch.setattr(wholeframe, "text_boxes", refuse)
    ds = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert outcome.quarantine_reason is None and not outcome.changed


def test_a_whole_frame_detector_failure_quarantines(monkeypatch: pytest.MonkeyPatch) -> None:
    def dies(image: np.ndarray, scale: float = 1.0):
        raise OcrUnavailable("text detector failed (RuntimeError)")

    monkeypatch.setattr(ppocr, "detect", dies)
    ds = _dataset(_speckle(), "RGB", "US")
    before = ds.PixelData
    outcome = clean_pixels(ds, PixelSettings(enabled=True), cache=OcrCache())
    assert not outcome.changed
    assert outcome.quarantine_reason == "text detector failed (RuntimeError)"
    assert ds.PixelData is before


def test_white_text_over_colour_doppler_is_removed() -> None:
    """White text over the colour flow of an ultrasound: in the brightest-channel rendering
    it is as bright as the red and yellow under it (invisible), in the whiteness it is
    plain (deid.pixels.render.renderings)."""
    image = _speckle()
    mask = _draw(image, "DOB 1953-12-08", (70, 100), 0.5, (255, 255, 255))
    gray = image.max(axis=-1)[np.newaxis]
    seen = np.zeros(image.shape[:2], dtype=bool)
    for found in detect_text(gray, cache=OcrCache(), whole_frame=True):
        seen |= _filled_box(found.box)
    assert seen[mask].mean() < 0.5  # the brightest channel alone misses it
    outcome = clean_pixels(_dataset(image, "RGB", "US"), PixelSettings(enabled=True), OcrCache())
    filled = _filled(outcome, image.shape[:2])
    assert filled[mask].mean() >= 0.95
    assert _collateral(filled, mask) < 0.03


def test_verify_reads_white_text_over_colour() -> None:
    from deid.verification.pixeltext import _norm, read_lines

    image = _speckle()
    _draw(image, "KOWALSKI PIOTR", (70, 100), 0.6, (255, 255, 255))
    lines = [text for _, text in read_lines(_dataset(image, "RGB", "US"))]
    assert any(_norm("KOWALSKI PIOTR") in text for text in lines)


def test_covered_counts_overlapping_boxes_once() -> None:
    # Two boxes over the same left half: the right half stays uncovered, so the outline
    # is read again (counting the overlap twice would have skipped it).
    assert not wholeframe.covered((0, 0, 100, 10), [(0, 0, 50, 10), (0, 0, 50, 10)])
    assert wholeframe.covered((0, 0, 100, 10), [(0, 0, 50, 10), (45, 0, 60, 10)])
    assert not wholeframe.covered((0, 0, 100, 10), [])
