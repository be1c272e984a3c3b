"""The transfer syntax a dataset was read with.

One answer for the writer (which needs one to write with: Explicit VR Little Endian for a
dataset built in memory) and the reading step (which records "" in the ledger when there
is none): both ask :func:`read_transfer_syntax` and choose their own default.
"""

from __future__ import annotations

from typing import Any

from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)


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
