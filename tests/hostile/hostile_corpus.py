"""A corpus of hostile inputs, built in memory from one valid file.

Each :class:`Case` is bytes plus what is allowed: every case may be quarantined (or refused
as not DICOM) with a one-line reason, or written as a valid output without its identity;
cases marked ``must_write`` are valid DICOM in an unusual encoding and must be written.
The damaged cases share the valid file's SOP Instance UID, so in a batch all but one of
those that survive are duplicates.
Structural offsets (element headers, values, sequence items) are found by walking the
encoded bytes, so truncations land exactly on the boundaries they name.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

PATIENT_NAME = "Villanueva^Perpetua"
PATIENT_ID = "HOSTILE-83301927"
STUDY_DATE = "20210607"
ROOT = "1.2.826.0.1.3680043.8.498.77."
LONG_LENGTH_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UT", b"UN", b"UC", b"UR",
                   b"SV", b"UV"}  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    must_write: bool = False


def base_dataset(n: int = 1) -> Dataset:
    """A small valid CT with identity at the top level, in a sequence and in a private block."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = f"{ROOT}1.1.{n}"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = f"{ROOT}1.1.{n}"
    ds.StudyInstanceUID = f"{ROOT}1"
    ds.SeriesInstanceUID = f"{ROOT}1.1"
    ds.StudyDate = STUDY_DATE
    ds.Modality = "CT"
    ds.InstitutionName = "Hospital de Santa Perpetua"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19490228"
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = f"{ROOT}1.1.{n + 1000}"
    ds.ReferencedImageSequence = Sequence([item])
    block = ds.private_block(0x0009, "HOSTILE TEST", create=True)
    block.add_new(0x01, "LO", f"owner {PATIENT_ID}")
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.arange(16, dtype=np.uint16).tobytes()
    return ds


def encode(ds: Dataset, syntax: str = ExplicitVRLittleEndian) -> bytes:
    ds.file_meta.TransferSyntaxUID = syntax
    buffer = io.BytesIO()
    if syntax == ExplicitVRBigEndian:
        dcmwrite(buffer, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    else:
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def element(group: int, elem: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit VR little endian element; ``length`` may lie about the value."""
    size = len(value) if length is None else length
    if vr in LONG_LENGTH_VRS:
        return struct.pack("<HH2sHI", group, elem, vr, 0, size) + value
    return struct.pack("<HH2sH", group, elem, vr, size) + value


def body_offsets(data: bytes) -> list[tuple[int, int, int, int]]:
    """(tag, header offset, value offset, length) of each top-level element after the meta,
    for an explicit VR little endian Part 10 file with defined lengths."""
    (meta_length,) = struct.unpack("<I", data[140:144])
    offset = 144 + meta_length
    found = []
    while offset + 8 <= len(data):
        group, elem = struct.unpack("<HH", data[offset : offset + 4])
        vr = data[offset + 4 : offset + 6]
        if vr in LONG_LENGTH_VRS:
            (length,) = struct.unpack("<I", data[offset + 8 : offset + 12])
            value_at = offset + 12
        else:
            (length,) = struct.unpack("<H", data[offset + 6 : offset + 8])
            value_at = offset + 8
        found.append(((group << 16) | elem, offset, value_at, length))
        if length == 0xFFFFFFFF:
            break
        offset = value_at + length
    return found


def _at(offsets: list, tag: int) -> tuple[int, int, int]:
    for t, header, value, length in offsets:
        if t == tag:
            return header, value, length
    raise KeyError(hex(tag))


def nested_sequences(depth: int) -> bytes:
    """``depth`` levels of undefined-length Content Sequence items, a name at the bottom."""
    inner = element(0x0040, 0xA160, b"UT", f"note on {PATIENT_NAME} ".encode())
    for _ in range(depth):
        item = b"\xfe\xff\x00\xe0\xff\xff\xff\xff" + inner + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
        inner = (
            struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF)
            + item
            + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
        )
    return inner


def _insert_before(data: bytes, offsets: list, tag: int, extra: bytes) -> bytes:
    """Insert ``extra`` before the first top-level element whose tag is >= ``tag``."""
    for t, header, _, _ in offsets:
        if t >= tag:
            return data[:header] + extra + data[header:]
    return data + extra


def _raw_body(ds: Dataset) -> bytes:
    """The data set without preamble or file meta (what some writers produce)."""
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True, enforce_file_format=False)
    data = buffer.getvalue()
    return data if data[128:132] != b"DICM" else data[144 + struct.unpack("<I", data[140:144])[0] :]


def build_cases() -> list[Case]:
    good = encode(base_dataset())
    offsets = body_offsets(good)
    name_header, name_value, name_length = _at(offsets, 0x00100010)
    _, seq_value, _ = _at(offsets, 0x00081140)
    (meta_length,) = struct.unpack("<I", good[140:144])
    deflated = encode(base_dataset(4), DeflatedExplicitVRLittleEndian)
    odd = element(0x0020, 0x0010, b"SH", b"S1234")
    second_name = element(0x0010, 0x0010, b"PN", b"Dupont^Amandine ")
    cases = [
        # truncated at every structural boundary
        Case("truncated-after-preamble", good[:128]),
        Case("truncated-after-dicm", good[:132]),
        Case("truncated-mid-file-meta", good[: 144 + meta_length // 2]),
        Case("truncated-after-file-meta", good[: 144 + meta_length]),
        Case("truncated-mid-element-header", good[: name_header + 3]),
        Case("truncated-mid-value", good[: name_value + name_length // 2]),
        Case("truncated-mid-sequence-item", good[: seq_value + 12]),
        Case("truncated-mid-pixel-data", good[:-10]),
        # wrong lengths
        Case("length-past-end", good[: name_header + 6] + b"\xff\x7f" + good[name_header + 8 :]),
        Case("length-too-short", good[: name_header + 6] + b"\x04\x00" + good[name_header + 8 :]),
        Case("length-odd", good[: name_header + 6] + b"\x07\x00" + good[name_header + 8 :]),
        Case("four-gigabyte-claim", _four_gb_claim(good, offsets)),
        Case("item-length-past-end", _item_length_lie(good, seq_value)),
        # deep nesting
        Case("nested-50-undefined", _nest(good, offsets, 50)),
        Case("nested-300-undefined", _nest(good, offsets, 300)),
        # wrong VRs
        Case("vr-invalid-letters", good[: name_header + 4] + b"ZZ" + good[name_header + 6 :]),
        Case("vr-name-as-ul", good[: name_header + 4] + b"UL" + good[name_header + 6 :]),
        Case("vr-id-as-sq", _id_as_sequence(good, offsets)),
        # other encodings of the same valid data set
        Case("big-endian", encode(base_dataset(2), ExplicitVRBigEndian), must_write=True),
        Case("implicit-vr", encode(base_dataset(3), ImplicitVRLittleEndian), must_write=True),
        Case("deflated", deflated, must_write=True),
        Case("deflated-corrupt", _corrupt_deflate(deflated)),
        Case("no-preamble-no-meta", _raw_body(base_dataset(5)), must_write=True),
        Case("meta-says-implicit-body-explicit", _meta_lies(good)),
        # odd-length values and bad bytes in ASCII VRs
        Case("odd-length-value", _insert_before(good, offsets, 0x00200010, odd)),
        Case("non-ascii-in-ascii-vrs", _non_ascii(good, offsets)),
        Case("duplicate-tags", _insert_before(good, offsets, 0x00100020, second_name)),
        Case("tags-out-of-order", good + element(0x0008, 0x0080, b"LO", b"Late Institution")),
        # not DICOM at all
        Case("empty", b""),
        Case("text", f"Patient {PATIENT_NAME} id {PATIENT_ID}\n".encode()),
        Case("random", bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8))),
        Case("png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        Case("zip", b"PK\x03\x04" + b"\x00" * 200),
        Case("dicm-at-wrong-offset", b"\x00" * 100 + b"DICM" + good[132:]),
        Case("preamble-and-dicm-only", b"\x00" * 128 + b"DICM"),
    ]  # fmt: skip
    return cases


def _nest(good: bytes, offsets: list, depth: int) -> bytes:
    return _insert_before(good, offsets, 0x0040A730, nested_sequences(depth))


def _four_gb_claim(good: bytes, offsets: list) -> bytes:
    """A 1 KB file whose private OB element claims 0xFFFFFFF0 bytes."""
    claim = element(0x0009, 0x1002, b"OB", b"\x00" * 16, length=0xFFFFFFF0)
    data = _insert_before(good, offsets, 0x00100010, claim)
    return data[:1024]


def _item_length_lie(good: bytes, seq_value: int) -> bytes:
    item_len_at = seq_value + 4  # item tag, then its 4-byte length
    return good[:item_len_at] + struct.pack("<I", 0x7FFFFFF0) + good[item_len_at + 4 :]


def _id_as_sequence(good: bytes, offsets: list) -> bytes:
    header, value, length = _at(offsets, 0x00100020)
    bogus = struct.pack("<HH2sHI", 0x0010, 0x0020, b"SQ", 0, length) + good[value : value + length]
    return good[:header] + bogus + good[value + length :]


def _corrupt_deflate(data: bytes) -> bytes:
    (meta_length,) = struct.unpack("<I", data[140:144])
    start = 144 + meta_length
    body = bytearray(data[start:])
    for i in range(8, min(len(body), 64), 3):
        body[i] ^= 0x5A
    return data[:start] + bytes(body)


def _meta_lies(good: bytes) -> bytes:
    explicit = ExplicitVRLittleEndian.encode() + b"\x00"  # 20 bytes, as written
    implicit = ImplicitVRLittleEndian.encode().ljust(len(explicit), b"\x00")
    return good.replace(explicit, implicit, 1)


def _non_ascii(good: bytes, offsets: list) -> bytes:
    header, value, length = _at(offsets, 0x00100020)
    garbage = b"\xe9\xff\x00\x1b$B" + PATIENT_ID.encode()
    garbage += b" " * (len(garbage) % 2)
    patched = good[:header] + element(0x0010, 0x0020, b"LO", garbage) + good[value + length :]
    offsets = body_offsets(patched)
    extra = element(0x0008, 0x0060, b"CS", b"c\xf6t ")  # lower case + non-ASCII in CS
    cut_header, cut_value, cut_length = _at(offsets, 0x00080060)
    return patched[:cut_header] + extra + patched[cut_value + cut_length :]
