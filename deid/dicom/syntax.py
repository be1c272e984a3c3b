"""The transfer syntax a dataset was read with, and the one conversion between two.

One answer for the writer (which needs one to write with: Explicit VR Little Endian for a
dataset built in memory: :func:`transfer_syntax_of`), the pixel step, and the reading step
(which records "" in the ledger when there is none): all ask :func:`read_transfer_syntax`
and choose their own default. Explicit VR Big Endian (retired) is read but never written:
:func:`convert_big_endian` turns it into Explicit VR Little Endian, for the writer and for
the pixel step, which must decode the pixels it cleans in the order they are written.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from deid.dicom.vrs import WORD_SIZE

#: The writer's logger, as before the conversion moved here (logs name the step, not this).
log = logging.getLogger("deid.rewrite.writer")


def read_transfer_syntax(dataset: Any) -> UID | None:
    """The File Meta's Transfer Syntax UID, else the encoding pydicom read the body with
    (a file without meta); None for a dataset that was never read from bytes."""
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid).strip(" \x00"))
    implicit, little = getattr(dataset, "original_encoding", (None, None))
    if implicit is None:
        return None
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def transfer_syntax_of(dataset: Dataset) -> UID:
    """The transfer syntax the dataset was read with (Explicit VR Little Endian if new)."""
    return read_transfer_syntax(dataset) or ExplicitVRLittleEndian


def output_transfer_syntax(dataset: Dataset) -> UID:
    """The transfer syntax :func:`encode_part10` will write for this dataset."""
    ts = transfer_syntax_of(dataset)
    return ExplicitVRLittleEndian if ts == ExplicitVRBigEndian else ts


def _swap_binary(dataset: Dataset) -> None:
    """Byte-swap the word-structured binary values of a Big Endian dataset, in place.

    pydicom converts numbers (US, FL ...) when the encoding changes, but keeps OW/OF/...
    bytes as read, so those must be swapped by hand to stay correct in Little Endian.
    """
    stack = [dataset]
    while stack:
        ds = stack.pop()
        bits = ds.get("BitsAllocated")
        for elem in ds:
            vr = elem.VR
            if vr == "SQ":
                stack.extend(elem.value or [])
                continue
            size = WORD_SIZE.get(vr, 1)
            if elem.tag == 0x7FE00010 and vr == "OW" and isinstance(bits, int) and bits > 16:
                size = bits // 8
            value = elem.value
            if size > 1 and isinstance(value, (bytes, bytearray)) and len(value) % size == 0:
                dtype = np.dtype(f">u{size}")
                elem.value = np.frombuffer(value, dtype=dtype).byteswap().tobytes()


def convert_big_endian(dataset: Dataset) -> bool:
    """Make a Big Endian dataset Explicit VR Little Endian; True when it did."""
    if transfer_syntax_of(dataset) != ExplicitVRBigEndian:
        return False
    _swap_binary(dataset)
    if getattr(dataset, "file_meta", None) is None:
        dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    log.info("converted Explicit VR Big Endian to Explicit VR Little Endian")
    return True
