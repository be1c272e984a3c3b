"""The engine's contract with the pixel step (deid.pixels.clean_pixels), by stand-ins."""

from __future__ import annotations

import dataclasses

import pydicom
import pytest
from pydicom.data import get_testdata_file
from rewrite_support import base_dataset, shipped

import deid.pixels
from deid.pixels.outcome import PixelOutcome
from deid.rewrite.engine import deidentify
from deid.rewrite.quarantine import QuarantineError


def _with_pixels(recipe):
    return dataclasses.replace(recipe, pixels=dataclasses.replace(recipe.pixels, enabled=True))


def test_pixel_quarantine_reason_becomes_quarantine(monkeypatch, keys) -> None:
    def refuse(ds, settings):
        reason = "burned in, no rule"
        return PixelOutcome(False, [], "1.2.840.10008.1.2.1", quarantine_reason=reason)

    monkeypatch.setattr(deid.pixels, "clean_pixels", refuse)
    with pytest.raises(QuarantineError, match="burned in, no rule"):
        deidentify(base_dataset(), _with_pixels(shipped("basic")), keys)


def test_pixel_crash_becomes_quarantine(monkeypatch, keys) -> None:
    def crash(ds, settings):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(deid.pixels, "clean_pixels", crash)
    with pytest.raises(QuarantineError, match="pixel cleaning failed: RuntimeError"):
        deidentify(base_dataset(), _with_pixels(shipped("basic")), keys)


def test_pixel_step_runs_on_the_original_header(monkeypatch, keys) -> None:
    seen = {}

    def record(ds, settings):
        seen["name"] = str(ds.PatientName)  # conditions may use any attribute
        return PixelOutcome(True, [(0, 1, 2, 3, 4)], "1.2.840.10008.1.2.1")

    monkeypatch.setattr(deid.pixels, "clean_pixels", record)
    result = deidentify(base_dataset(), _with_pixels(shipped("basic")), keys)
    assert seen["name"] == "Doe^John"
    assert result.pixel is not None and result.pixel.boxes == [(0, 1, 2, 3, 4)]


def test_pixels_never_decoded_without_pixel_cleaning(monkeypatch, keys) -> None:
    def forbidden(self):
        raise AssertionError("pixel data decoded")

    monkeypatch.setattr(pydicom.Dataset, "pixel_array", property(forbidden))
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    before = bytes(ds.PixelData)
    result = deidentify(ds, shipped("basic"), keys)
    assert result.pixel is None and bytes(ds.PixelData) == before
