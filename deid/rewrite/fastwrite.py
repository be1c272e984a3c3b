"""A cheaper ``dcmwrite`` for the common case, producing exactly the same bytes.

Why: encoding was ~45 % of a file's CPU. pydicom's ``dcmwrite(enforce_file_format=True)``
deep-copies the File Meta Information, validates it twice, encodes it through the general
element writer, and then sends every element of the body through ``write_data_element``,
which allocates a buffer per element even for the raw elements the engine kept verbatim
(most of a file). Here:

* the File Meta Information built by :func:`deid.rewrite.writer.build_file_meta` (always
  the same six elements, all present) is encoded directly;
* a raw element (kept, never decoded) whose encoding is the output's is written as header
  + its bytes, which is what ``write_data_element`` does for it;
* everything else (replaced elements, sequences, Pixel Data) still goes through pydicom's
  own ``write_data_element``, and a dataset whose encoding or character set changed goes
  through pydicom's ``write_dataset`` (it converts and corrects ambiguous VRs).

:func:`encode_fast` returns None whenever the case is not the common one (deflate, big
endian, private or unknown transfer syntaxes, File Meta values ``dcmwrite`` would replace,
command or meta elements in the body ...), and the caller then uses ``dcmwrite``. Any error
raised here also sends the caller back to ``dcmwrite``, so a failure mode is never new.
``tests/rewrite/test_rewrite_fastwrite.py`` checks the bytes against ``dcmwrite``.
"""

from __future__ import annotations

import re
import struct
from typing import Any

import pydicom
from pydicom import Dataset
from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_dataset, writers
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from deid.dicom.vrs import TEXT_VRS

_TAG = struct.Struct("<HH")
_US = struct.Struct("<H")
_UL = struct.Struct("<L")
_UNDEFINED = 0xFFFFFFFF
#: Element headers: implicit VR (tag, 4-byte length); explicit VR with a 2-byte length;
#: explicit VR with 2 reserved bytes and a 4-byte length (:data:`_LONG_VRS`).
_IMPLICIT_HEAD = struct.Struct("<HHL")
_SHORT_HEAD = struct.Struct("<HH2sH")
_LONG_HEAD = struct.Struct("<HH2s2xL")
_ITEM = _TAG.pack(0xFFFE, 0xE000)
_ITEM_END = _TAG.pack(0xFFFE, 0xE00D) + _UL.pack(0)
_SEQ_END = _TAG.pack(0xFFFE, 0xE0DD) + _UL.pack(0)
PIXEL_DATA = 0x7FE00010
#: The File Meta elements :func:`deid.rewrite.writer.build_file_meta` sets, in tag order.
_META_TAGS = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012, 0x00020013)
_META_VRS = {0x00020001: "OB", 0x00020013: "SH"}  # the others are UI
_LONG_VRS = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
#: The pydicom (major, minor) releases whose writer these bytes were checked against; this
#: module reads pydicom's private state, so any other release goes to ``dcmwrite`` (and
#: pyproject.toml pins the same range, tests/recipe/test_recipe_project_checks.py both).
CHECKED_PYDICOM = ((3, 0),)


def pydicom_checked(version: str = pydicom.__version__) -> bool:
    """Whether ``version`` is a pydicom release the fast writer was checked against."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match[1]), int(match[2])) in CHECKED_PYDICOM


_CHECKED = pydicom_checked()


def _explicit(tag: int, vr: str, value: bytes) -> bytes:
    """One Explicit VR Little Endian element."""
    if vr in _LONG_VRS:
        return (
            _TAG.pack(tag >> 16, tag & 0xFFFF)
            + vr.encode()
            + b"\0\0"
            + _UL.pack(len(value))
            + value
        )
    return _TAG.pack(tag >> 16, tag & 0xFFFF) + vr.encode() + _US.pack(len(value)) + value


def _meta_bytes(meta: Dataset) -> bytes | None:
    """The encoded File Meta group, or None if ``meta`` is not exactly what we build.

    pydicom writes UI values padded with NUL to an even length, SH with a space, OB as is
    (padded with NUL), after a (0002,0000) group length of everything that follows.
    """
    if sorted(int(t) for t in meta.keys()) != list(_META_TAGS):  # noqa: SIM118 - tags
        return None
    body = []
    for tag in _META_TAGS:
        elem = meta.get_item(tag)
        vr = _META_VRS.get(tag, "UI")
        if elem is None or elem.is_raw or vr != elem.VR:
            return None
        value = elem.value
        if vr == "OB":
            if type(value) is not bytes or not value:
                return None
            data = value + b"\0" if len(value) % 2 else value
        else:
            if not isinstance(value, str) or not value or not value.isascii():
                return None
            text = value + ("\0" if vr == "UI" else " ") if len(value) % 2 else value
            data = text.encode("ascii")
        body.append(_explicit(tag, vr, data))
    rest = b"".join(body)
    return _explicit(0x00020000, "UL", _UL.pack(len(rest))) + rest


#: VRs pydicom writes with ``write_string`` (or ``write_DA``/``DT``/``TM`` for a str value):
#: the value's characters as they are, padded to even length (UI with NUL).
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"})
#: VRs pydicom writes with ``write_text``: encoded by the character set, padded with a space.
#: Python codecs (as :func:`pydicom.charset.convert_encodings` names them) under which an
#: ASCII string encodes to its ASCII bytes with no escape sequence.
_PLAIN_CODECS = frozenset({"iso8859", "latin_1", "UTF8", "utf_8"})
_WRITABLE_VRS = frozenset(str(vr) for vr in writers)


def _simple_value(elem: Any, plain_text: bool) -> bytes | None:
    """The bytes ``write_data_element`` writes for a decoded element's value, when that is
    trivial: an empty value, or one ASCII string of a VR written as its characters.
    None otherwise (pydicom's writer then does it)."""
    vr = elem.VR
    if type(vr) is not str or vr not in _WRITABLE_VRS or vr == "SQ" or elem.is_undefined_length:
        return None
    value = elem.value
    if value is None or (type(value) in (str, bytes) and not value):
        return b""
    if not isinstance(value, str) or not value.isascii():
        return None
    if vr in _ASCII_VRS:
        pad = "\0" if vr == "UI" else " "
    elif vr in TEXT_VRS and plain_text:
        pad = " "
    else:
        return None
    data = (value + pad if len(value) % 2 else value).encode("ascii")
    return data if vr in _LONG_VRS or len(data) <= 0xFFFF else None


def _all_decoded_plain(dataset: Dataset) -> bool:
    """True when every element is a decoded, non-sequence element of a plain VR: then
    ``write_dataset``'s conversion pass (raw elements decoded again, ambiguous VRs such as
    "US or SS" corrected) has nothing to do, so the fast loop writes the same bytes. Such
    are the items deid builds itself (the De-identification Method Code Sequence)."""
    get_item = dataset.get_item
    for tag in dataset.keys():  # noqa: SIM118 - tags, not elements
        elem = get_item(tag)
        vr = elem.VR
        if (
            type(elem) is not DataElement
            or type(vr) is not str
            or len(vr) != 2
            or vr == "SQ"
            or vr not in _WRITABLE_VRS
            or elem.is_buffered
        ):
            return False
    return True


def _sequence_value(elem: DataElement, encodings: Any, implicit: bool) -> bytes:
    """The value ``write_data_element`` writes for a decoded sequence: each item as an Item
    of defined length (or undefined, with its delimiter, if it was read that way), each
    item's dataset written like the top level with the parent's character set."""
    sub = DicomBytesIO()
    sub.is_implicit_VR = implicit
    sub.is_little_endian = True
    if elem.is_empty:
        return b""
    codecs = convert_encodings(encodings or [default_encoding])
    for item in elem.value:
        sub.write(_ITEM)
        start = sub.tell()
        sub.write(_UL.pack(_UNDEFINED))
        _write_body(sub, item, codecs)
        if getattr(item, "is_undefined_length_sequence_item", False):
            sub.write(_ITEM_END)
        else:
            end = sub.tell()
            sub.seek(start)
            sub.write(_UL.pack(end - start - 4))
            sub.seek(end)
    return sub.getvalue()


def _write_body(
    fp: DicomBytesIO, dataset: Dataset, parent_encoding: Any = default_encoding
) -> None:
    """``pydicom.filewriter.write_dataset``, with raw elements, trivial values and
    sequences written directly (the bytes pydicom's writers would produce for them)."""
    implicit = fp.is_implicit_VR
    if (
        (implicit, fp.is_little_endian) != dataset.original_encoding
        or dataset.original_character_set != dataset._character_set
    ) and not _all_decoded_plain(dataset):
        write_dataset(fp, dataset, parent_encoding)
        return
    encodings = dataset.get("SpecificCharacterSet", parent_encoding)
    codecs = convert_encodings(encodings or [default_encoding])
    plain_text = len(codecs) == 1 and codecs[0] in _PLAIN_CODECS
    elements = dataset._dict  # what ``get_item`` reads, without a Tag() per element
    write = fp.write
    for tag in sorted(elements, key=int):
        group, elem_no = tag >> 16, tag & 0xFFFF
        if elem_no == 0 and group > 6:  # retired group lengths: pydicom skips them too
            continue
        elem = elements[tag]
        if isinstance(elem, RawDataElement) and elem.value is None:
            elem = dataset.get_item(tag)  # a deferred value: get_item reads it
        vr = elem.VR
        undefined = False
        if isinstance(elem, RawDataElement):  # what ``is_raw`` says, seen by the checker
            value = elem.value
            if type(value) is not bytes or elem.length == _UNDEFINED:
                value = None
        elif type(elem) is not DataElement or elem.is_buffered:
            value = None
        elif vr == "SQ":
            value = _sequence_value(elem, encodings, implicit)
            undefined = elem.is_undefined_length
        else:
            value = _simple_value(elem, plain_text)
        if value is None or not (implicit or (type(vr) is str and len(vr) == 2)):
            write_data_element(fp, elem, encodings)
            continue
        length = _UNDEFINED if undefined else len(value)
        if implicit:
            write(_IMPLICIT_HEAD.pack(group, elem_no, length))
        elif vr in _LONG_VRS:
            write(_LONG_HEAD.pack(group, elem_no, vr.encode("latin-1"), length))
        elif len(value) <= 0xFFFF:  # explicit VR: ``vr`` is a two-letter str (checked above)
            write(_SHORT_HEAD.pack(group, elem_no, vr.encode("latin-1"), length))  # type: ignore[union-attr]
        else:  # pydicom warns and writes it as UN: let it
            write_data_element(fp, elem, encodings)
            continue
        write(value)
        if undefined:
            write(_SEQ_END)


def encode_fast(dataset: Dataset) -> bytes | None:
    """``dcmwrite(buffer, dataset, enforce_file_format=True)``'s bytes, or None when this is
    not a case handled here (see the module docstring). ``dataset.file_meta`` must be the
    one :func:`deid.rewrite.writer.build_file_meta` made, ``dataset.preamble`` 128 bytes."""
    if not _CHECKED:
        return None  # another pydicom might write other bytes: its own dcmwrite decides
    if any(t >> 16 in (0, 2) for t in dataset._dict):
        return None  # dcmwrite refuses these
    meta = getattr(dataset, "file_meta", None)
    preamble = getattr(dataset, "preamble", None)
    if meta is None or type(preamble) is not bytes or len(preamble) != 128:
        return None
    tsyntax = meta.get("TransferSyntaxUID")
    if not isinstance(tsyntax, UID) or tsyntax.is_private or not tsyntax.is_transfer_syntax:
        return None
    if not tsyntax.is_little_endian or tsyntax == DeflatedExplicitVRLittleEndian:
        return None
    # dcmwrite replaces the header's SOP Class / Instance UIDs by the body's when they differ
    for keyword, meta_keyword in (
        ("SOPClassUID", "MediaStorageSOPClassUID"),
        ("SOPInstanceUID", "MediaStorageSOPInstanceUID"),
    ):
        own = dataset.get(keyword, None)
        if own and own != meta.get(meta_keyword, None):
            return None
    header = _meta_bytes(meta)
    if header is None:
        return None
    if "PixelData" in dataset:  # PS3.5 A.4, as dcmwrite does
        dataset["PixelData"].is_undefined_length = tsyntax.is_compressed
    fp = DicomBytesIO()
    fp.is_implicit_VR = tsyntax.is_implicit_VR
    fp.is_little_endian = True
    fp.write(preamble)
    fp.write(b"DICM")
    fp.write(header)
    _write_body(fp, dataset)
    return fp.getvalue()
