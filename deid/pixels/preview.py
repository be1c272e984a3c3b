"""Review aid: draw what Clean Pixel Data would remove, without removing anything.

The text that was read is never printed or stored; the counts printed carry no value of
the file. The PNG itself, though, is the frame as it is *before* cleaning, burned-in
text included: it is as sensitive as the input and must be handled like it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pydicom

from deid.atomic import write_bytes
from deid.pixels.clean import find_boxes, selected_for_cleaning
from deid.pixels.outcome import Box
from deid.pixels.render import load_frames, to_rgb8
from deid.recipe.model import PixelSettings

RED_BGR = (0, 0, 255)


class FrameOutOfRange(IndexError):
    """The requested frame is not in the file; the message names the frame count."""


@dataclass
class Preview:
    """What a preview found: every box (all frames), and whether the file is selected."""

    boxes: list[Box]
    frames: int
    selected: bool


def render_preview(
    ds: pydicom.Dataset, settings: PixelSettings, frame: int = 0
) -> tuple[np.ndarray, Preview]:
    """A BGR image of ``frame`` with red rectangles, and the boxes of every frame."""
    frames = load_frames(ds)
    if not 0 <= frame < frames.count:
        raise FrameOutOfRange(f"frame {frame} out of range (the file has {frames.count})")
    boxes = find_boxes(ds, frames, settings)
    rgb = to_rgb8(ds, frames)[frame]
    image = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    for f, x, y, w, h in boxes:
        if f == frame:
            cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), RED_BGR, 1)
    return image, Preview(boxes, frames.count, selected_for_cleaning(ds, settings))


def write_png(image: np.ndarray, out: Path) -> None:
    """Write atomically: a temp file in the target folder, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError("PNG encoding failed")
    write_bytes(out, encoded.tobytes())
