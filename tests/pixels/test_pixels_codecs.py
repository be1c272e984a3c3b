"""Cleaned compressed files stay in their transfer syntax when a lossless encoder exists;
lossy inputs are written uncompressed and stay marked lossy."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pixels_helpers import build, read_region, words_in
from pydicom.data import get_testdata_file
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from deid.pixels import clean_pixels
from deid.pixels.codec import write_frames
from deid.pixels.render import load_frames
from deid.recipe.model import PixelSettings
from deid.rewrite.writer import encode_part10


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless])
@pytest.mark.parametrize("kind", ["mono12", "rgb"])
def test_compressed_inputs_keep_their_syntax(
    tmp_path, syntax: str, kind: str, settings: PixelSettings
) -> None:
    ds, planted = build(kind)
    ds.compress(syntax, generate_instance_uid=False)
    sop_uid = ds.SOPInstanceUID
    outcome = clean_pixels(ds, settings)
    assert outcome.changed and outcome.transfer_syntax_out == syntax
    path = tmp_path / "out.dcm"
    ds.save_as(path, enforce_file_format=True)
    again = pydicom.dcmread(path)
    assert again.file_meta.TransferSyntaxUID == syntax
    assert again.SOPInstanceUID == sop_uid, "UIDs are the engine's business"
    for p in planted:
        assert not words_in(read_region(again, p.frame, p.box)) & words_in(p.text)


def test_unchanged_compressed_input_keeps_bytes(settings: PixelSettings) -> None:
    ds = pydicom.dcmread(get_testdata_file("MR2_J2KR.dcm"))
    original = ds.PixelData
    outcome = clean_pixels(ds, settings)
    assert not outcome.changed and ds.PixelData is original
    assert outcome.transfer_syntax_out == JPEG2000Lossless


def test_deflated_input_stays_deflated(tmp_path, settings: PixelSettings) -> None:
    ds, _ = build("mono8")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    outcome = clean_pixels(ds, settings)
    assert outcome.changed and outcome.transfer_syntax_out == DeflatedExplicitVRLittleEndian
    ds.save_as(tmp_path / "d.dcm", enforce_file_format=True)
    assert pydicom.dcmread(tmp_path / "d.dcm").pixel_array.shape == (192, 256)


def test_lossy_jpeg_is_written_uncompressed_and_marked_lossy() -> None:
    ds = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg.dcm"))
    frames = load_frames(ds)
    stored = frames.stored.copy()
    stored[0, :10, :10] = 0
    written = write_frames(ds, stored, frames.photometric)
    assert written == ExplicitVRLittleEndian
    assert ds.LossyImageCompression == "01"
    assert ds.PhotometricInterpretation == "RGB"
    assert np.array_equal(ds.pixel_array, stored[0])


def test_big_endian_input_with_text_is_converted_and_cleaned(
    tmp_path, settings: PixelSettings
) -> None:
    """Explicit VR Big Endian (retired) with pixel data is cleaned, not quarantined: written
    as Explicit VR Little Endian with the palette swapped so the image displays the same."""
    from pydicom.pixels import apply_color_lut

    source = get_testdata_file("OBXXXX1A_expb.dcm")
    ds = pydicom.dcmread(source)
    indices = ds.pixel_array.copy()
    # What the image displays: the same file in little endian, as pydicom ships it.
    reference = pydicom.dcmread(get_testdata_file("OBXXXX1A.dcm"))
    assert np.array_equal(reference.pixel_array, indices)
    before = apply_color_lut(reference.pixel_array, reference)
    outcome = clean_pixels(ds, settings)
    assert outcome.quarantine_reason is None and outcome.changed
    assert outcome.transfer_syntax_out == ExplicitVRLittleEndian
    path = tmp_path / "le.dcm"
    path.write_bytes(encode_part10(ds))  # the engine's writer
    again = pydicom.dcmread(path)
    assert again.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    after = apply_color_lut(again.pixel_array, again)
    touched = np.zeros(after.shape[:2], dtype=bool)
    for _f, x, y, w, h in outcome.boxes:
        touched[y : y + h, x : x + w] = True
    assert touched.any()
    assert np.array_equal(again.pixel_array[~touched], indices[~touched])
    assert np.array_equal(after[~touched], before[~touched]), "palette garbled"


def test_real_ultrasound_text_is_found(settings: PixelSettings) -> None:
    """pydicom's US1_J2KR carries device annotation (site name, dates) on black margins."""
    ds = pydicom.dcmread(get_testdata_file("US1_J2KR.dcm"))
    before = read_region(ds, 0, (19, 25, 150, 14))
    assert words_in(before), "fixture assumption: the site line is readable"
    outcome = clean_pixels(ds, PixelSettings(enabled=True))
    assert outcome.changed and outcome.transfer_syntax_out == JPEG2000Lossless
    assert ds.PhotometricInterpretation == "YBR_RCT", "re-encoded with the RCT again"
    assert not words_in(read_region(ds, 0, (19, 25, 150, 14))) & words_in(before)
