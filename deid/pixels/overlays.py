"""Overlay planes (60xx,3000) scanned for text like a frame, when a recipe says ``scan``.

Overlays carry annotation as 1-bit graphics (often the patient's name on old devices).
With ``overlays: remove`` the engine's 60xx rules drop them and nothing happens here;
with ``scan`` each overlay frame is rendered (set bits white), read like a frame, and the
bits under found text are cleared; the rest of the graphic stays.
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.pixels import pack_bits

from deid.pixels.detect import detect_text
from deid.pixels.ocr import OcrCache
from deid.pixels.outcome import Box
from deid.pixels.regions import pad_box
from deid.recipe.model import PixelSettings


def overlay_groups(ds: pydicom.Dataset) -> list[int]:
    """Groups 6000..601E (even) that hold Overlay Data."""
    return [g for g in range(0x6000, 0x6020, 2) if (g, 0x3000) in ds]


def scan_overlays(
    ds: pydicom.Dataset, settings: PixelSettings, cache: OcrCache | None = None
) -> list[Box]:
    """Clear text in every overlay plane; boxes are (group, x, y, w, h) with the margin.

    An overlay that cannot be unpacked is dropped whole (its group): when in doubt, remove.
    """
    cleared: list[Box] = []
    for group in overlay_groups(ds):
        try:
            bits = np.asarray(ds.overlay_array(group), dtype=np.uint8)
        except Exception:
            # The whole group goes: an overlay without its data is not a valid overlay.
            for elem in ds.group_dataset(group):
                del ds[elem.tag]
            cleared.append((group, 0, 0, 0, 0))
            continue
        planes = bits if bits.ndim == 3 else bits[np.newaxis]
        gray = (planes > 0).astype(np.uint8) * 255
        found = detect_text(gray, settings.allow_tokens, None, cache)
        if not found:
            continue
        rows, columns = planes.shape[1:]
        for hit in found:
            padded = pad_box(hit.box, settings, rows, columns)
            if padded is None:
                continue
            x, y, w, h = padded
            planes[hit.frame, y : y + h, x : x + w] = 0
            cleared.append((group, x, y, w, h))
        packed = pack_bits(planes.reshape(-1))
        ds[(group, 0x3000)].value = packed
    return cleared
