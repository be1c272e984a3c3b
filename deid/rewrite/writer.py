"""Writing a de-identified dataset as a DICOM Part 10 file, atomically.

The File Meta Information of the input describes the *input* (its SOP Instance UID, the
application and station that wrote it: Source Application Entity Title, private
Implementation ...), so it is never copied. :func:`encode_part10` builds a new header:

* 128-byte preamble of zeros (a preamble may carry anything, e.g. a TIFF header);
* Media Storage SOP Class / Instance UID = the dataset's (new) SOP Class / Instance UID
  (for a DICOMDIR, which has none in its body, the remapped values of the old header);
* Transfer Syntax = the one the dataset was read with, so untouched pixel bytes stay
  valid. Explicit VR Big Endian (retired; writing it is deprecated in pydicom 3) is
  converted to Explicit VR Little Endian, byte-swapping OW/OF/OL/OD/OV values, and the
  conversion is logged (and noted in :class:`Deidentified.notes` by the engine);
* Implementation Class UID :data:`IMPLEMENTATION_CLASS_UID`, a constant defined once as
  ``"2.25." + int(sha256(b"deid implementation class uid")[:16])`` (the test suite
  re-derives it), and Implementation Version Name ``DEID_<version>``;
* nothing else.

A dataset read without any header (``force=True``) gets the same proper header; its
transfer syntax comes from how pydicom read it (``original_encoding``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydicom import Dataset, config, dcmwrite
from pydicom.dataelem import DataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO

from deid import __version__
from deid.atomic import write_bytes
from deid.dicom.sop import header_uid
from deid.dicom.syntax import convert_big_endian, output_transfer_syntax, transfer_syntax_of
from deid.rewrite import dicomdir
from deid.rewrite.fastwrite import encode_fast
from deid.rewrite.quarantine import QuarantineError

log = logging.getLogger(__name__)

IMPLEMENTATION_CLASS_UID = "2.25.297755578150005674490289079127119414794"
IMPLEMENTATION_VERSION_NAME = f"DEID_{__version__}"[:16]
PREAMBLE = b"\x00" * 128
OUTPUT_MODE = 0o644


def build_file_meta(dataset: Dataset, transfer_syntax: str) -> FileMetaDataset:
    """A new File Meta Information for ``dataset`` (see the module docstring)."""
    sop_class = header_uid(dataset, "SOPClassUID")
    sop_instance = header_uid(dataset, "SOPInstanceUID")
    if not sop_class:
        raise QuarantineError("no SOP Class UID: cannot build a Part 10 header")
    if not sop_instance:
        raise QuarantineError("no SOP Instance UID: cannot build a Part 10 header")
    meta = FileMetaDataset()
    # Elements built directly (tags and VRs of the dictionary), not by keyword: validating
    # each value again cost a fifth of the encoding and only ever warned.
    for tag, vr, value in (
        (0x00020001, "OB", b"\x00\x01"),  # File Meta Information Version
        (0x00020002, "UI", sop_class),  # Media Storage SOP Class UID
        (0x00020003, "UI", sop_instance),  # Media Storage SOP Instance UID
        (0x00020010, "UI", transfer_syntax),  # Transfer Syntax UID
        (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),  # Implementation Class UID
        (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),  # Implementation Version Name
    ):
        meta[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)
    return meta


def _materialise(dataset: Dataset) -> None:
    """Decode every raw element (at every level), so pydicom re-encodes them all.

    Needed when the body was read in another encoding than its header claims (e.g.
    Implicit VR under an explicit transfer syntax): raw elements then carry no VR and
    cannot be copied byte for byte.
    """
    stack = [dataset]
    while stack:
        ds = stack.pop()
        for elem in ds:  # iterating converts raw elements
            if elem.VR == "SQ":
                stack.extend(elem.value or [])


def _encode(dataset: Dataset) -> bytes:
    # The common case without dcmwrite's copies and re-validation (same bytes); anything
    # unusual, or any error there, takes the dcmwrite path below as before.
    try:
        data = encode_fast(dataset)
    except Exception:
        data = None
    if data is not None:
        return data
    buffer = DicomBytesIO()
    try:
        dcmwrite(buffer, dataset, enforce_file_format=True)
    except Exception:
        try:
            _materialise(dataset)
            buffer = DicomBytesIO()
            dcmwrite(buffer, dataset, enforce_file_format=True)
        except Exception as exc:
            raise QuarantineError(f"cannot encode the dataset: {type(exc).__name__}") from exc
    return buffer.getvalue()


def encode_part10(dataset: Dataset) -> bytes:
    """The dataset as Part 10 bytes with a zeroed preamble and a rebuilt header.

    Replaces ``dataset.file_meta`` and ``dataset.preamble`` (the dataset is the output).
    """
    try:
        convert_big_endian(dataset)
        ts = transfer_syntax_of(dataset)
        dataset.file_meta = build_file_meta(dataset, ts)
        dataset.preamble = PREAMBLE
        return dicomdir.rebuild_offsets(dataset, _encode)
    except QuarantineError:
        raise
    except Exception as exc:  # a corrupt element pydicom can neither copy nor convert
        raise QuarantineError(f"cannot encode the dataset: {type(exc).__name__}") from exc


def write_atomic(dataset: Dataset, path: Path | str) -> None:
    """Write ``dataset`` to ``path`` so a reader sees the old file or the whole new one.

    The bytes go to a hidden temporary file in the same folder (created 0o600, so a
    half-written file is never readable by others), are flushed to disk, made 0o644 and
    renamed over ``path`` (:func:`deid.atomic.write_bytes`). On any failure the temporary
    is removed.
    """
    path = Path(path)
    data = encode_part10(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data, OUTPUT_MODE, fsync=True)


__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "build_file_meta",
    "convert_big_endian",
    "encode_part10",
    "output_transfer_syntax",
    "transfer_syntax_of",
    "write_atomic",
]
