"""Reading an input as the pipeline and the verifier both must: bytes, sniffing, parsing.

Why a module of its own, below :mod:`deid.pipeline` and :mod:`deid.verification`: ``deid
verify`` has to read each original exactly as the run read it (same sniffing, same force
rule, same truncation checks), and importing that from the pipeline made verification
depend on the batch machinery. Inputs may be plain paths or object-storage URLs
(:mod:`deid.storage`); a URL is read through fsspec, a path exactly as before.

Sniffing decides by content, not by name, whether a file is DICOM and how pydicom should
open it. Exports name files anything (``IM0001``, ``DICOMDIR``, ``.dcm``, no extension), and
some writers omit the 128-byte preamble and ``DICM`` magic. ``force=True`` lets pydicom parse
any bytes at all, so it is only used after :func:`sniff` has seen a plausible start of a data
set; everything else is "not DICOM" and is quarantined with that reason instead of being
parsed into garbage.
"""

from __future__ import annotations

import io
import os
import stat
import struct
from typing import TYPE_CHECKING, Literal

from deid.storage.locations import is_url
from deid.storage.objects import ObjectUnreadable, read_object

if TYPE_CHECKING:
    from pydicom import Dataset

    from deid.storage.prefetch import Prefetcher

#: Bytes to read from the start of a file to decide (preamble + magic + a first element).
HEAD_SIZE = 144

#: Every VR pydicom knows; an explicit-VR first element must carry one of them.
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL "
    b"UN UR US UT UV".split()
)
#: Groups a data set without preamble plausibly starts with: file meta, or the first
#: attributes of the identifying module (Specific Character Set, Image Type, ...).
_FIRST_GROUPS = (0x0002, 0x0008)

Kind = Literal["part10", "raw"]


def sniff(head: bytes, size: int | None = None) -> Kind | None:
    """``"part10"`` (preamble + DICM), ``"raw"`` (a data set without preamble, read with
    ``force=True``), or None when the bytes do not start like DICOM.

    ``head`` is the first :data:`HEAD_SIZE` bytes (or the whole file if shorter); ``size``
    the file size, used to reject implicit-VR lengths that cannot fit.
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "part10"
    if len(head) < 8:
        return None
    for little in (True, False):
        fmt = "<HH" if little else ">HH"
        group, element = struct.unpack(fmt, head[:4])
        if group not in _FIRST_GROUPS or element > 0x0100:
            continue
        if head[4:6] in _VRS:
            return "raw"
        if not little:
            continue  # implicit VR is always little endian
        # Implicit VR: a 4-byte length that fits in the file.
        (length,) = struct.unpack("<I", head[4:8])
        limit = size if size is not None else 1 << 31
        if length == 0xFFFFFFFF or length <= max(limit - 8, 0):
            return "raw"
    return None


class SkipFile(Exception):
    """A file that is not processed, with the one-line reason the ledger records."""


def unlistable_folder_reason(path: str) -> str:
    """Why a folder is in the input list: the walk could not list it (or a manifest named
    it), so the files in it are in neither the output nor the ledger; the record says so
    instead of hiding it."""
    try:
        with os.scandir(path):
            pass
    except OSError as error:
        return f"folder cannot be listed ({error.strerror}): its files are not in this run"
    # Listable now: a manifest named it, or it could not be listed when the run began.
    return "a folder, not walked: its files are not in this run (give it as an INPUT)"


def read_input(path: str, prefetched: Prefetcher | None = None) -> tuple[bytes, str]:
    """The file's bytes and its kind ("part10" or "raw"); :class:`SkipFile` if not DICOM.

    ``path`` may be an object-storage URL: its bytes come from ``prefetched`` when a
    prefetcher already holds them, else from the store (a missing or unreadable object is a
    :class:`SkipFile` with its reason, like a missing or unreadable file).
    """
    if is_url(path):
        return _read_object(path, prefetched)
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        raise SkipFile("input not found: missing, vanished or a dangling link") from None
    if stat.S_ISDIR(st.st_mode):
        raise SkipFile(unlistable_folder_reason(path))
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "special file"
        raise SkipFile(f"not a regular file: {kind}")
    if st.st_size == 0:
        raise SkipFile("not DICOM: empty file")
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
        sniffed = sniff(head, st.st_size)
        if sniffed is None:
            raise SkipFile("not DICOM: no DICM magic and no plausible data set start")
        return head + handle.read(), sniffed


def _read_object(url: str, prefetched: Prefetcher | None) -> tuple[bytes, str]:
    try:
        data = prefetched.take(url) if prefetched is not None else read_object(url)
    except ObjectUnreadable as error:
        raise SkipFile(str(error)) from None
    if not data:
        raise SkipFile("not DICOM: empty file")
    kind = sniff(data[:HEAD_SIZE], len(data))
    if kind is None:
        raise SkipFile("not DICOM: no DICM magic and no plausible data set start")
    return data, kind


def parse(data: bytes, kind: str) -> Dataset:
    """pydicom read of the bytes; ``force`` only for sniffed preamble-less data sets.

    pydicom is lenient with truncated files (a short last value is kept as is, a missing
    delimiter only warns), which would let a damaged file through as a "valid" output with
    part of its pixels. So truncation is checked here and becomes a quarantine reason.
    """
    import warnings

    import pydicom

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = pydicom.dcmread(io.BytesIO(data), force=(kind == "raw"))
    for warning in caught:
        text = str(warning.message)
        if "End of file reached" in text or "before delimiter" in text:
            raise SkipFile("truncated: end of file inside an undefined-length element")
    check_complete(ds, len(data))
    return ds


def check_complete(ds: Dataset, size: int) -> None:
    """:class:`SkipFile` when the last top-level element is cut short or is not the end.

    Only the last element of a data set can be short (everything before it was read in
    full), so looking at it and at the bytes after it is enough.
    """
    # ints: max() over pydicom tags would compare them in Python
    last = max((t for t in map(int, ds.keys()) if t >> 16 != 0x0002), default=None)
    if last is None:
        raise SkipFile("not DICOM: no data set after the file meta information")
    raw = ds.get_item(last)
    length = getattr(raw, "length", None)
    tell = getattr(raw, "value_tell", None)
    value = getattr(raw, "value", None)
    if length is None or tell is None or length == 0xFFFFFFFF:
        return
    if isinstance(value, (bytes, bytearray)) and len(value) < length:
        raise SkipFile("truncated: the last element is shorter than its length")
    if 0 < size - (tell + length) < 8:
        raise SkipFile("truncated: a partial element header at the end of the file")
