"""Where a dataset's own UIDs are when its body lacks them: the File Meta Information.

A DICOMDIR, or a body whose SOP Instance UID was removed, names itself only in the header
((0002,0002) Media Storage SOP Class UID, (0002,0003) Media Storage SOP Instance UID). The
engine, the writer and verify's ledger check read the same fallback.
"""

from __future__ import annotations

from typing import Any

#: Body keyword -> the File Meta keyword that repeats it.
META_KEYWORDS = {
    "SOPClassUID": "MediaStorageSOPClassUID",
    "SOPInstanceUID": "MediaStorageSOPInstanceUID",
}
_UNSET: Any = object()


def uid_text(value: Any) -> str:
    """A UID value as text, without DICOM's padding (spaces, NUL)."""
    return str(value or "").strip(" \x00")


def header_uid(dataset: Any, keyword: str, body: Any = _UNSET) -> str:
    """The dataset's own UID (``keyword``: SOPClassUID or SOPInstanceUID), else its File
    Meta's. ``body`` is the body's value when the caller has read it already (the engine
    reads it without decoding)."""
    value = uid_text(dataset.get(keyword) if body is _UNSET else body)
    if not value:
        meta = getattr(dataset, "file_meta", None)
        value = uid_text(meta.get(META_KEYWORDS[keyword]) if meta is not None else None)
    return value


def sop_instance_uid(dataset: Any, body: Any = _UNSET) -> str:
    """The SOP Instance UID of ``dataset``, from its body, else from its File Meta."""
    return header_uid(dataset, "SOPInstanceUID", body)
