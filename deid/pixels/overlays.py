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
from deid.recipe.model import PixelSettings


def overlay_groups(ds: pydicom.Dataset) -> list[int]:
    """Groups 6000..601E (even) that hold Overlay Data."""
    return [g for g in range(0x6000, 0x6020, 2) if (g, 0x3000) in ds]


def scan_overlays(
    ds: pydicom.Dataset, settings: PixelSettings, cache: OcrCache | None = None
) -> list[Box]:
    """Clear text in every overlay plane; boxes are (group, x, y, w, h) with the margin.

    An overlay that cannot be unpacked is dropped whole: when in doubt, remove.
    """
    cleared: list[Box] = []
    margin = max(0, int(settings.margin))
    for group in overlay_groups(ds):
        try:
            bits = np.asarray(ds.overlay_array(group), dtype=np.uint8)
        except Exception:
            del ds[(group, 0x3000)]
            cleared.append((group, 0, 0, 0, 0))
            continue
        planes = bits if bits.ndim == 3 else bits[np.newaxis]
        gray = (planes > 0).astype(np.uint8) * 255
        found = detect_text(gray, settings.allow_tokens, None, cache)
        if not found:
            continue
        rows, columns = planes.shape[1:]
        for hit in found:
            x, y, w, h = hit.box
            x0, y0 = max(0, x - margin), max(0, y - margin)
            x1, y1 = min(columns, x + w + margin), min(rows, y + h + margin)
            planes[hit.frame, y0:y1, x0:x1] = 0
            cleared.append((group, x0, y0, x1 - x0, y1 - y0))
        packed = pack_bits(planes.reshape(-1))
        ds[(group, 0x3000)].value = packed
    return cleared
