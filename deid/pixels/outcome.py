"""The result of :func:`deid.pixels.clean_pixels`, which the engine and the ledger consume.

Kept in its own module so the engine can import the type without pulling in OpenCV or
Tesseract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: (frame, x, y, width, height) of one filled rectangle, in pixel coordinates.
Box = tuple[int, int, int, int, int]


@dataclass
class PixelOutcome:
    """What happened to one dataset's pixels.

    ``boxes`` records *where* pixels were blacked out, never the text that was read: the
    ledger is shared with people who must not see identifiers.
    """

    changed: bool
    boxes: list[Box]
    transfer_syntax_out: str
    quarantine_reason: str | None = None
    checked_only: bool = False
    #: Rectangles cleared in overlay planes (60xx,3000) when overlays are scanned; the
    #: "frame" member is the overlay group (e.g. 0x6000).
    overlay_boxes: list[Box] = field(default_factory=list)
