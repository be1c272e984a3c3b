"""Which files are cleaned, checked or quarantined; fixed regions; allowed tokens;
ultrasound regions; overlays."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
from pixels_helpers import build
from pixels_synthetic import PlantedText, make_dataset, plant, smooth_background
from pydicom.pixels import pack_bits

import deid.pixels.detect as detect_module
from deid.pixels import clean_pixels, wholeframe
from deid.pixels.clean import NOT_FOUND_REASON, UNMATCHED_REASON
from deid.pixels.render import load_frames
from deid.recipe.model import Condition, PixelRegionRule, PixelSettings

ONLY_US = (Condition.from_mapping({"Modality": "US"}),)


def test_burned_in_without_matching_rule_is_quarantined() -> None:
    ds, _ = build("mono8")  # Modality OT, Burned In Annotation YES
    pixel_bytes = ds.PixelData
    outcome = clean_pixels(ds, PixelSettings(enabled=True, clean_when=ONLY_US))
    assert outcome.quarantine_reason == UNMATCHED_REASON
    assert outcome.checked_only and not outcome.changed and ds.PixelData is pixel_bytes


def test_burned_in_without_matching_rule_can_be_kept() -> None:
    ds, _ = build("mono8")
    settings = PixelSettings(enabled=True, clean_when=ONLY_US, burned_in_unmatched="keep")
    outcome = clean_pixels(ds, settings)
    assert outcome.quarantine_reason is None and outcome.checked_only


def test_unmatched_file_without_burned_in_flag_is_only_checked() -> None:
    ds, _ = build("mono8")
    ds.BurnedInAnnotation = "NO"
    outcome = clean_pixels(ds, PixelSettings(enabled=True, clean_when=ONLY_US))
    assert outcome.checked_only and outcome.quarantine_reason is None and not outcome.changed


def test_matching_rule_cleans() -> None:
    ds, _ = build("mono8")
    ds.Modality = "US"
    outcome = clean_pixels(ds, PixelSettings(enabled=True, clean_when=ONLY_US))
    assert outcome.changed and not outcome.checked_only


def test_burned_in_but_nothing_found_is_quarantined() -> None:
    image = (smooth_background((128, 128), seed=3) * 200).astype(np.uint8)
    ds = make_dataset(image, "MONOCHROME2", 8, burned_in="YES")
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert outcome.quarantine_reason == NOT_FOUND_REASON and not outcome.changed


def test_fixed_regions_apply_by_device_signature() -> None:
    rule = PixelRegionRule(Condition.from_mapping({"Manufacturer": "ACME*"}), ((10, 5, 40, 12),))
    settings = PixelSettings(enabled=True, ocr=False, regions=(rule,), margin=0)
    image = np.full((64, 96), 120, dtype=np.uint8)
    image[0, 0] = 3  # the darkest value: what the box is filled with
    ds = make_dataset(image, "MONOCHROME2", 8, burned_in=None)
    ds.Manufacturer = "ACME Imaging"
    outcome = clean_pixels(ds, settings)
    assert outcome.changed and outcome.boxes == [(0, 10, 5, 40, 12)]
    assert np.all(ds.pixel_array[5:17, 10:50] == 3)
    assert np.all(ds.pixel_array[17:, :] != 3)

    other = make_dataset(image, "MONOCHROME2", 8, burned_in=None)
    other.Manufacturer = "Other Corp"
    assert not clean_pixels(other, settings).changed


def test_allowed_tokens_stay_and_identity_goes() -> None:
    field = (smooth_background((160, 240), seed=5) * 150).astype(np.uint8)
    marker = plant(field, 0, "LEFT", "top-right", 255, cv2.FONT_HERSHEY_SIMPLEX, 0.6)
    name = plant(field, 0, "GARCIA^MARIA", "bottom-left", 255, cv2.FONT_HERSHEY_SIMPLEX, 0.5)
    ds = make_dataset(field, "MONOCHROME2", 8, burned_in=None)
    outcome = clean_pixels(ds, PixelSettings(enabled=True, allow_tokens=("Left",)))
    stored = ds.pixel_array
    assert outcome.changed
    assert np.all(stored[name.mask] == stored.min())
    assert np.array_equal(stored[marker.mask], field[marker.mask]), "allowed token removed"

    strict = make_dataset(field, "MONOCHROME2", 8, burned_in=None)
    clean_pixels(strict, PixelSettings(enabled=True))
    assert np.all(strict.pixel_array[marker.mask] == field.min()), "without allow: removed"


def test_text_outside_ultrasound_regions_goes_without_ocr(monkeypatch) -> None:
    """The reader confirms nothing anywhere: only candidates outside the declared image
    area are removed, because position alone makes them annotation."""
    monkeypatch.setattr(detect_module, "text_in_window", lambda *a, **k: [])
    monkeypatch.setattr(wholeframe, "text_boxes", lambda *a, **k: [])
    image = np.zeros((200, 260, 3), dtype=np.uint8)
    inside = plant(image, 0, "ZQXJ 77", "bottom-right", (255, 255, 255), scale=0.5)
    outside = plant(image, 0, "ZQXJ 88", "top-left", (255, 255, 255), scale=0.5)
    ds = make_dataset(image, "RGB", 8, modality="US", burned_in=None)
    region = pydicom.Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 259, 199
    ds.SequenceOfUltrasoundRegions = [region]
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    stored = load_frames(ds).stored[0]
    assert outcome.changed
    assert np.all(stored[outside.mask] == 0)
    assert np.array_equal(stored[inside.mask], image[inside.mask])


def _with_overlay(ds: pydicom.Dataset) -> PlantedText:
    """Add overlay group 6000 with a name and a graphic block at (150..180, 100..120)."""
    bits = np.zeros((128, 192), dtype=np.uint8)
    planted = plant(bits, 0, "KOWALSKI^PIOTR", "top-left", 1, scale=0.45)
    bits[100:120, 150:180] = 1  # a graphic, not text: stays
    ds.add_new(0x60000010, "US", 128)
    ds.add_new(0x60000011, "US", 192)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", pack_bits(bits.reshape(-1)))
    return planted


def test_overlay_text_is_cleared_when_scanning() -> None:
    image = (smooth_background((128, 192), seed=7) * 180).astype(np.uint8)
    ds = make_dataset(image, "MONOCHROME2", 8, burned_in=None)
    planted = _with_overlay(ds)
    pixel_bytes = ds.PixelData

    outcome = clean_pixels(ds, PixelSettings(enabled=True, overlays="scan"))

    overlay = ds.overlay_array(0x6000)
    assert outcome.overlay_boxes and not outcome.changed and ds.PixelData is pixel_bytes
    assert not overlay[planted.mask].any()
    assert overlay[100:120, 150:180].all()


def test_overlays_left_alone_when_remove(settings: PixelSettings) -> None:
    ds, _ = build("mono8")
    ds.add_new(0x60003000, "OW", b"\xff" * 16)
    outcome = clean_pixels(ds, settings)  # default overlays="remove": the engine's job
    assert outcome.overlay_boxes == [] and ds[0x60003000].value == b"\xff" * 16


def test_overlays_are_scanned_on_files_only_checked_or_without_pixels() -> None:
    """The engine keeps Overlay Data whenever the recipe scans overlays, so a file that
    no clean condition selects, or that has no Pixel Data, must still be scanned."""
    settings = PixelSettings(enabled=True, overlays="scan", clean_when=ONLY_US)
    image = (smooth_background((128, 192), seed=7) * 180).astype(np.uint8)
    unselected = make_dataset(image, "MONOCHROME2", 8, burned_in="NO")
    without_pixels = make_dataset(image, "MONOCHROME2", 8, burned_in=None)
    del without_pixels.PixelData
    for ds in (unselected, without_pixels):
        planted = _with_overlay(ds)
        outcome = clean_pixels(ds, settings)
        assert outcome.overlay_boxes and outcome.quarantine_reason is None
        assert not ds.overlay_array(0x6000)[planted.mask].any()
    assert clean_pixels(unselected, settings).checked_only


def test_unreadable_overlay_goes_with_its_whole_group() -> None:
    ds, _ = build("mono8")
    _with_overlay(ds)
    ds[0x60003000].value = b"\xff" * 16  # far shorter than 128 x 192 bits
    outcome = clean_pixels(ds, PixelSettings(enabled=True, overlays="scan"))
    assert (0x6000, 0, 0, 0, 0) in outcome.overlay_boxes
    assert not [elem for elem in ds if elem.tag.group == 0x6000]
