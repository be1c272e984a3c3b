"""The fast encoder writes exactly what ``dcmwrite(enforce_file_format=True)`` writes."""

from __future__ import annotations

import copy
import os
import warnings

import pydicom
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_files
from pydicom.filebase import DicomBytesIO
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)
from rewrite_support import base_dataset, shipped

from deid.rewrite.engine import deidentify
from deid.rewrite.fastwrite import encode_fast
from deid.rewrite.quarantine import QuarantineError
from deid.rewrite.writer import PREAMBLE, build_file_meta, convert_big_endian, transfer_syntax_of

#: Small enough to keep the test quick, large enough to cover every syntax in the data.
MAX_SIZE = 600_000


def _prepared(ds: pydicom.Dataset) -> pydicom.Dataset:
    """What ``encode_part10`` hands to the encoder."""
    convert_big_endian(ds)
    ds.file_meta = build_file_meta(ds, transfer_syntax_of(ds))
    ds.preamble = PREAMBLE
    return ds


def _dcmwrite(ds: pydicom.Dataset) -> bytes:
    buffer = DicomBytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _cases() -> list[str]:
    return [f for f in sorted(get_testdata_files()) if os.path.getsize(f) <= MAX_SIZE]


def test_same_bytes_as_dcmwrite_on_pydicoms_files(keys) -> None:
    recipe = shipped("basic")
    fast_taken = compared = 0
    for path in _cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = _prepared(deidentify(dcmread(path, force=True), recipe, keys).dataset)
            except (QuarantineError, Exception):
                continue  # not writable at all: the engine quarantines it
            twin = copy.deepcopy(ds)
            try:
                fast = encode_fast(ds)
            except Exception:
                fast = None  # the caller falls back to dcmwrite
            if fast is None:
                continue
            fast_taken += 1
            try:
                expected = _dcmwrite(twin)
            except Exception:
                pytest.fail(f"fast path wrote a file dcmwrite refuses: {os.path.basename(path)}")
            assert fast == expected, os.path.basename(path)
            compared += 1
    assert compared >= 100, compared  # the fast path is the common case


@pytest.mark.parametrize("syntax", [DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian])
def test_unusual_syntaxes_are_left_to_dcmwrite(syntax) -> None:
    ds = base_dataset()
    ds.file_meta = build_file_meta(ds, syntax)
    ds.preamble = PREAMBLE
    assert encode_fast(ds) is None


def test_implicit_and_odd_lengths_match(keys) -> None:
    ds = base_dataset(StudyDescription="odd", InstitutionName="abc")
    buffer = DicomBytesIO()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    read = dcmread(DicomBytesIO(buffer.getvalue()))
    out = _prepared(deidentify(read, shipped("basic"), keys).dataset)
    twin = copy.deepcopy(out)
    fast = encode_fast(out)
    assert fast is not None
    assert fast == _dcmwrite(twin)


def test_meta_values_dcmwrite_would_replace_are_left_to_it() -> None:
    ds = base_dataset()
    ds.file_meta = build_file_meta(ds, ImplicitVRLittleEndian)
    ds.preamble = PREAMBLE
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"  # not the body's
    assert encode_fast(ds) is None
