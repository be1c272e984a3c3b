"""Decide by content, not by name, whether a file is DICOM and how pydicom should open it.

Exports name files anything (``IM0001``, ``DICOMDIR``, ``.dcm``, no extension), and some
writers omit the 128-byte preamble and ``DICM`` magic. ``force=True`` lets pydicom parse any
bytes at all, so it is only used after this module has seen a plausible start of a data set;
everything else is "not DICOM" and is quarantined with that reason instead of being parsed
into garbage.
"""

from __future__ import annotations

import struct
from typing import Literal

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
