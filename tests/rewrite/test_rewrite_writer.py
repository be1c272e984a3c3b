"""The Part 10 writer: a new header, the right transfer syntax, atomic files."""

from __future__ import annotations

import hashlib
import io
import os
import stat

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from rewrite_support import base_dataset, profile_recipe, roundtrip, shipped

from deid import __version__
from deid.rewrite.engine import deidentify
from deid.rewrite.writer import IMPLEMENTATION_CLASS_UID, encode_part10, write_atomic


def test_implementation_class_uid_is_the_documented_derivation() -> None:
    digest = hashlib.sha256(b"deid implementation class uid").digest()[:16]
    assert "2.25." + str(int.from_bytes(digest, "big")) == IMPLEMENTATION_CLASS_UID


def test_header_is_rebuilt(keys) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    original_sop = ds.SOPInstanceUID
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    ds.preamble = b"TIFF" + b"\x01" * 124
    deidentify(ds, shipped("basic"), keys)
    data, out = roundtrip(ds)
    assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM"
    meta = out.file_meta
    assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID == keys.uid(original_sop)
    assert meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == f"DEID_{__version__}"
    assert sorted(e.keyword for e in meta) == sorted(
        [
            "FileMetaInformationGroupLength",
            "FileMetaInformationVersion",
            "MediaStorageSOPClassUID",
            "MediaStorageSOPInstanceUID",
            "TransferSyntaxUID",
            "ImplementationClassUID",
            "ImplementationVersionName",
        ]
    )
    assert b"HOSPITAL_PACS" not in data


def test_media_storage_uid_kept_with_retain_uids(keys) -> None:
    ds = base_dataset()
    sop = ds.SOPInstanceUID
    deidentify(ds, profile_recipe("retain-uids"), keys)
    _, out = roundtrip(ds)
    assert out.file_meta.MediaStorageSOPInstanceUID == sop


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MR_small_implicit.dcm", ImplicitVRLittleEndian),
        ("MR_small.dcm", ExplicitVRLittleEndian),
        ("image_dfl.dcm", DeflatedExplicitVRLittleEndian),
        ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),
        ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ],
)
def test_transfer_syntax_and_pixel_bytes_kept(name, expected, keys) -> None:
    ds = pydicom.dcmread(get_testdata_file(name))
    before = ds.PixelData
    deidentify(ds, shipped("basic"), keys)
    _, out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == expected
    assert out.PixelData == before


def test_big_endian_becomes_little_endian_with_same_pixels(keys) -> None:
    path = get_testdata_file("MR_small_bigendian.dcm")
    expected = pydicom.dcmread(path).pixel_array
    ds = pydicom.dcmread(path)
    result = deidentify(ds, shipped("basic"), keys)
    assert result.notes and "Big Endian" in result.notes[0]
    assert result.transfer_syntax_out == ExplicitVRLittleEndian
    _, out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(out.pixel_array, expected)


def test_write_atomic(tmp_path, keys) -> None:
    ds = base_dataset()
    deidentify(ds, shipped("basic"), keys)
    target = tmp_path / "a" / "b" / "out.dcm"
    write_atomic(ds, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert os.listdir(target.parent) == ["out.dcm"]  # no temporary left behind
    assert pydicom.dcmread(target).PatientIdentityRemoved == "YES"
    write_atomic(ds, target)  # replacing an existing file is fine
    assert os.listdir(target.parent) == ["out.dcm"]


def test_write_atomic_leaves_nothing_on_failure(tmp_path) -> None:
    ds = base_dataset()
    del ds.SOPClassUID  # no header can be built
    with pytest.raises(Exception, match="SOP Class"):
        write_atomic(ds, tmp_path / "x.dcm")
    assert os.listdir(tmp_path) == []


def test_encoding_fallback_for_mislabelled_body(keys) -> None:
    """SC_rgb_jpeg.dcm says explicit VR but its body is implicit: still written."""
    ds = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg.dcm"))
    deidentify(ds, shipped("basic"), keys)
    out = pydicom.dcmread(io.BytesIO(encode_part10(ds)))
    assert out.PatientIdentityRemoved == "YES"
