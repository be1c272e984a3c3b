"""Planted text is removed in every photometric interpretation and bit depth; the rest
of the image is left alone; files without text keep their exact bytes."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pixels_helpers import KINDS, build, read_region, words_in
from pixels_synthetic import make_dataset, smooth_background
from pydicom.data import get_testdata_file

from deid.pixels import PixelOutcome, clean_pixels
from deid.pixels.render import load_frames
from deid.recipe.model import PixelSettings

FILL_EXPECTED = {"mono1": "max", "palette": 255}


@pytest.mark.parametrize("kind", KINDS)
def test_planted_text_is_removed(kind: str, settings: PixelSettings) -> None:
    ds, planted = build(kind)
    readable_before = [words_in(read_region(ds, p.frame, p.box)) for p in planted]
    assert any(readable_before), "the planted text must be readable to begin with"

    outcome = clean_pixels(ds, settings)

    assert isinstance(outcome, PixelOutcome)
    assert outcome.changed and outcome.quarantine_reason is None
    assert ds.BurnedInAnnotation == "NO"
    stored = load_frames(ds).stored
    for p in planted:
        strokes = stored[p.frame][p.mask]
        assert len(np.unique(strokes, axis=0)) == 1, f"{kind}: strokes not filled uniformly"
        leftover = words_in(read_region(ds, p.frame, p.box)) & words_in(p.text)
        assert not leftover, f"{kind}: still readable after cleaning"
    frames_hit = {b[0] for b in outcome.boxes}
    assert frames_hit == {p.frame for p in planted}


def test_fill_displays_black(settings: PixelSettings) -> None:
    for kind, expected in (("mono8", 0), ("mono1", 4095), ("palette", 255), ("rgb", 0)):
        ds, planted = build(kind)
        clean_pixels(ds, settings)
        strokes = load_frames(ds).stored[0][planted[0].mask]
        assert np.all(strokes == expected), kind


def test_cleaning_leaves_the_image_area_alone(settings: PixelSettings) -> None:
    ds, _ = build("mono12")
    before = load_frames(ds).stored.copy()
    outcome = clean_pixels(ds, settings)
    after = load_frames(ds).stored
    touched = np.zeros(before.shape, dtype=bool)
    for f, x, y, w, h in outcome.boxes:
        touched[f, y : y + h, x : x + w] = True
    assert np.array_equal(before[~touched], after[~touched])
    assert touched.mean() < 0.1


def test_ybr_full_comes_out_rgb(settings: PixelSettings) -> None:
    ds, _ = build("ybr_full")
    assert ds.PhotometricInterpretation == "YBR_FULL"
    outcome = clean_pixels(ds, settings)
    assert outcome.changed and ds.PhotometricInterpretation == "RGB"


@pytest.mark.parametrize("seed", [1, 2])
def test_images_without_text_keep_their_bytes(seed: int, settings: PixelSettings) -> None:
    field = smooth_background((160, 200), seed=seed)
    noise = np.random.default_rng(seed).normal(0, 40, field.shape)
    image = np.clip(field * 3000 + noise + 200, 0, 4095).astype(np.uint16)
    ds = make_dataset(image, "MONOCHROME2", 12, burned_in=None)
    pixel_bytes, syntax = ds.PixelData, ds.file_meta.TransferSyntaxUID
    outcome = clean_pixels(ds, settings)
    assert not outcome.changed and outcome.boxes == []
    assert ds.PixelData is pixel_bytes and ds.file_meta.TransferSyntaxUID == syntax
    assert outcome.transfer_syntax_out == syntax
    assert "BurnedInAnnotation" not in ds


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_pydicom_images_without_text_are_untouched(name: str, settings: PixelSettings) -> None:
    ds = pydicom.dcmread(get_testdata_file(name))
    original = bytes(ds.PixelData)
    outcome = clean_pixels(ds, settings)
    assert not outcome.changed and outcome.quarantine_reason is None
    assert ds.PixelData == original
    assert outcome.transfer_syntax_out == ds.file_meta.TransferSyntaxUID


def test_no_pixel_data_is_unchanged(settings: PixelSettings) -> None:
    ds = pydicom.Dataset()
    ds.Modality = "SR"
    outcome = clean_pixels(ds, settings)
    assert not outcome.changed and not outcome.boxes and outcome.quarantine_reason is None


def test_undecodable_pixels_are_quarantined(settings: PixelSettings) -> None:
    ds, _ = build("mono8")
    ds.PixelData = ds.PixelData[:100]
    outcome = clean_pixels(ds, settings)
    assert not outcome.changed
    assert outcome.quarantine_reason and "\n" not in outcome.quarantine_reason


def test_repeated_frames_are_read_once() -> None:
    """A 3-frame file costs the same Tesseract calls as its first frame alone."""
    from deid.pixels.ocr import OcrCache

    multi, _ = build("multiframe")
    single = make_dataset(load_frames(multi).stored[0], "MONOCHROME2", 8)
    multi_cache, single_cache = OcrCache(), OcrCache()
    assert clean_pixels(multi, PixelSettings(enabled=True), cache=multi_cache).changed
    assert clean_pixels(single, PixelSettings(enabled=True), cache=single_cache).changed
    assert multi_cache.calls == single_cache.calls >= 1
