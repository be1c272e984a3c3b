"""Per-file resource limits, so that one hostile file can never take the machine.

Three guards, each quarantining the file with a value-free reason:

- **Pixel data too large**, judged before anything is decoded: the size the header implies
  (Rows x Columns x Samples per Pixel x bytes per sample x Number of Frames), and for
  compressed data the size each frame's own codestream header claims (JPEG SOF, JPEG-LS
  SOF55, JPEG 2000 SIZ): a 1.4 KB JPEG that claims 65535 x 65535 once pushed a child to
  7.8 GiB.
- **Element value too long**: a text (or UN) value longer than the cap; a 10 MB person name
  once cost 3.1 GiB and 100 s in the text cleaner. Bulk data (pixels, overlays, waveforms,
  encapsulated documents) and binary VRs are not capped here: the pixel guard and the
  memory limit cover them.
- **A memory limit on each per-file child** (``RLIMIT_AS``): whatever a decoder or library
  does, an allocation past the limit fails in that child (MemoryError, quarantined), or at
  worst kills it, which costs only its file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
DEFAULT_MAX_PIXEL_MB = 1024
DEFAULT_MAX_VALUE_KB = 1024
DEFAULT_CHILD_MEMORY_MB = 4096

#: Bulk data elements: images, overlays, waveforms, documents (their size is their nature).
BULK_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0x56000020, 0x00420011})
#: Binary VRs: not text, never cleaned as text.
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "SQ"})


@dataclass(frozen=True)
class Limits:
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_MB * MIB
    max_value_bytes: int = DEFAULT_MAX_VALUE_KB * 1024
    #: RLIMIT_AS of each per-file child; 0: no limit.
    child_memory_bytes: int = DEFAULT_CHILD_MEMORY_MB * MIB

    @classmethod
    def from_options(cls, pixel_mb: int, value_kb: int, child_mb: int) -> Limits:
        return cls(pixel_mb * MIB, value_kb * 1024, child_mb * MIB)


class LimitExceeded(Exception):
    """A file over a limit; the message is the quarantine reason (no value, no path)."""


def _mb(n: int) -> str:
    return f"{n / MIB:.0f} MiB" if n >= MIB else f"{n / 1024:.0f} KiB"


def check_values(ds: Any, limit: int) -> None:
    """:class:`LimitExceeded` for the first text or UN value longer than ``limit`` bytes, at
    any nesting level; values are judged by their length, only sequences are converted."""
    stack = [ds]
    while stack:
        level = stack.pop()
        for elem in level.elements():
            tag = int(elem.tag)
            vr = elem.VR or _dictionary_vr(tag)
            length = getattr(elem, "length", None)
            if vr == "SQ" or (elem.VR is None and length == 0xFFFFFFFF):
                value = level[tag].value  # converted: its items are data sets
                stack.extend(item for item in value or [] if hasattr(item, "elements"))
                continue
            if tag in BULK_TAGS or (tag >> 16) & 0xFF00 == 0x6000 or vr in BINARY_VRS:
                continue
            size = _length(elem)
            if size > limit:
                raise LimitExceeded(
                    f"element value too long: ({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr} "
                    f"of {size} bytes, over the limit of {limit // 1024} KiB (--max-value-kb)"
                )


def _dictionary_vr(tag: int) -> str:
    """The VR an implicit-VR element has by the dictionary ("UN" for unknown, private)."""
    from pydicom.datadict import dictionary_VR

    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return "UN"


def _length(elem: Any) -> int:
    length = getattr(elem, "length", None)
    if isinstance(length, int) and length != 0xFFFFFFFF:
        return length
    value = elem.value
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(len(str(v)) + 1 for v in value)
    return 0


def check_pixels(ds: Any, limit: int) -> None:
    """:class:`LimitExceeded` when the decoded pixel data would exceed ``limit`` bytes, by
    the header or by any compressed frame's own header."""
    if 0x7FE00010 not in ds and 0x7FE00008 not in ds and 0x7FE00009 not in ds:
        return
    rows = _int(ds.get("Rows"))
    columns = _int(ds.get("Columns"))
    samples = max(1, _int(ds.get("SamplesPerPixel"), 1))
    bits = _int(ds.get("BitsAllocated"), 8)
    frames = max(1, _int(ds.get("NumberOfFrames"), 1))
    per_frame = rows * columns * samples * max(1, (bits + 7) // 8)
    claimed = _largest_codestream_frame(ds)
    if claimed:
        per_frame = max(per_frame, claimed)
    total = per_frame * frames
    if total > limit:
        raise LimitExceeded(
            f"pixel data too large: {frames} frame(s) of {per_frame} bytes decoded, over the "
            f"limit of {_mb(limit)} (--max-pixel-mb); refused before decoding"
        )


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _largest_codestream_frame(ds: Any) -> int:
    """The largest decoded frame any fragment's codestream header claims, in bytes."""
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None or not getattr(syntax, "is_compressed", False):
        return 0
    try:
        raw = ds.get_item(0x7FE00010)
        value = raw.value if raw is not None else None
        if not isinstance(value, (bytes, bytearray)):
            return 0
        from pydicom.encaps import generate_fragments

        largest = 0
        for fragment in generate_fragments(value):
            largest = max(largest, codestream_frame_bytes(fragment))
        return largest
    except Exception:  # malformed encapsulation: the decoder will say so, within the rlimit
        return 0


_JPEG_SOF = frozenset({*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}) | {0xF7}


def codestream_frame_bytes(data: bytes) -> int:
    """Decoded bytes a JPEG, JPEG-LS or JPEG 2000 codestream header claims (0: none)."""
    if data[:2] == b"\xff\xd8":
        return _jpeg_frame_bytes(data)
    if data[:4] == b"\xff\x4f\xff\x51" and len(data) >= 42:
        xsiz, ysiz, xosiz, yosiz = struct.unpack(">4I", data[8:24])
        components = struct.unpack(">H", data[40:42])[0]
        precision = (data[42] & 0x7F) + 1 if len(data) > 42 else 8
        width, height = max(0, xsiz - xosiz), max(0, ysiz - yosiz)
        return width * height * max(1, components) * ((precision + 7) // 8)
    if data[8:12] == b"jP  ":  # a JP2 file wrapper: the codestream follows its boxes
        at = data.find(b"\xff\x4f\xff\x51")
        return codestream_frame_bytes(data[at:]) if at >= 0 else 0
    return 0


def _jpeg_frame_bytes(data: bytes) -> int:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return 0
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header found
            return 0
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SOF and at + 10 <= len(data):
            precision = data[at + 4]
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            components = data[at + 9]
            return height * width * max(1, components) * max(1, (precision + 7) // 8)
        at += 2 + length
    return 0


def apply_memory_limit(limit: int) -> None:
    """Cap this process's address space (a per-file child calls it once it has its setup);
    0 or a platform without ``resource`` leaves it unlimited."""
    if limit <= 0:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    # Hard as well as soft: no library in the child can raise it again.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
