"""Builders for the pixel tests: synthetic images with planted text per format."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pydicom
import pytesseract
from pixels_synthetic import PlantedText, make_dataset, plant, smooth_background

from deid.pixels.render import load_frames, to_gray8

SIZE = (192, 256)
KINDS = ("mono8", "mono12", "mono16", "mono1", "rgb", "ybr_full", "palette", "multiframe")


def _palette() -> np.ndarray:
    """Reversed grey with a tint: index 255 is black, index 0 white (darkest is not 0)."""
    ramp = np.arange(255, -1, -1, dtype=np.float32)
    return np.stack([ramp, ramp * 0.9, ramp * 0.8], axis=1).astype(np.uint8)


def build(kind: str, lines: tuple[str, str] = ("SMITH^JANE", "ID 48151623")):
    """(dataset, planted texts) for one photometric/bit-depth kind, two lines of text:
    white in the bottom-left corner, grey on a black top bar."""
    field = smooth_background(SIZE, seed=len(kind))
    planted: list[PlantedText] = []
    frames = 3 if kind == "multiframe" else 1
    if kind in ("rgb", "ybr_full"):
        image = np.stack([field * 200, field * 150, field * 120], axis=-1).astype(np.uint8)
        white, grey, black = (255, 255, 255), (150, 150, 150), (0, 0, 0)
        photometric, bits = ("RGB" if kind == "rgb" else "YBR_FULL"), 8
    elif kind == "palette":
        image = (255 - field * 230).astype(np.uint8)  # index 255 displays black
        white, grey, black = 0, 100, 255
        photometric, bits = "PALETTE COLOR", 8
    else:
        top = {"mono8": 255, "mono12": 4095, "mono16": 65535, "mono1": 4095}.get(kind, 255)
        dtype = np.uint8 if top == 255 else np.uint16
        image = (field * top * 0.7).astype(dtype)
        white, grey, black = top, top * 0.55, 0
        photometric, bits = "MONOCHROME2", {255: 8, 4095: 12, 65535: 16}[top]
        if kind == "multiframe":
            image = np.stack([image] * frames)
        if kind == "mono1":
            photometric = "MONOCHROME1"
            image = (top - image).astype(dtype)
            white, grey, black = 0, top * 0.45, top
    stack = image if kind == "multiframe" else image[np.newaxis]
    for index in range(frames):
        frame = stack[index]
        planted.append(plant(frame, index, lines[0], "bottom-left", white, scale=0.5))
        planted.append(
            plant(
                frame,
                index,
                lines[1],
                "top-bar",
                grey,
                cv2.FONT_HERSHEY_DUPLEX,
                0.45,
                background=black,
            )
        )
    data = stack if kind == "multiframe" else stack[0]
    ds = make_dataset(data, photometric, bits, palette=_palette() if kind == "palette" else None)
    return ds, planted


def words_in(text: str) -> set[str]:
    return {w for w in re.split(r"[^A-Z0-9]+", text.upper()) if len(w) >= 3}


def read_region(ds: pydicom.Dataset, frame: int, box: tuple[int, int, int, int]) -> str:
    """What Tesseract reads in ``box`` (padded) of the dataset's 8-bit rendering."""
    gray = to_gray8(ds, load_frames(ds))[frame]
    x, y, w, h = box
    crop = gray[max(0, y - 4) : y + h + 4, max(0, x - 4) : x + w + 4]
    crop = cv2.resize(255 - crop, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    return pytesseract.image_to_string(crop, config="--psm 6")
