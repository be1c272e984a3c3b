"""Regions decided by the header, not by OCR.

* Fixed regions: a recipe's device signature (:class:`PixelRegionRule`) names rectangles
  the device always burns text into; they are filled whatever OCR says.
* Ultrasound regions: the Sequence of Ultrasound Regions (0018,6011) declares where the
  image data is. Anything text-like *outside* those regions is annotation, so candidates
  there are removed without needing Tesseract's confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pydicom

from deid.recipe.model import PixelRegionRule, PixelSettings

Rect = tuple[int, int, int, int]


def fixed_boxes(ds: pydicom.Dataset, rules: Iterable[PixelRegionRule]) -> list[Rect]:
    """Rectangles (x, y, w, h) of every region rule whose signature matches ``ds``."""
    boxes: list[Rect] = []
    for rule in rules:
        if rule.when.matches(ds):
            boxes.extend(tuple(int(v) for v in box) for box in rule.boxes)  # type: ignore[misc]
    return boxes


def ultrasound_image_mask(ds: pydicom.Dataset, rows: int, columns: int) -> np.ndarray | None:
    """Boolean mask of the declared image data area, or None when the file declares none."""
    regions = ds.get("SequenceOfUltrasoundRegions")
    if not regions:
        return None
    mask = np.zeros((rows, columns), dtype=bool)
    found = False
    for item in regions:
        try:
            x0 = int(item.RegionLocationMinX0)
            y0 = int(item.RegionLocationMinY0)
            x1 = int(item.RegionLocationMaxX1)
            y1 = int(item.RegionLocationMaxY1)
        except (AttributeError, TypeError, ValueError):
            continue
        x0, x1 = max(0, min(x0, x1)), min(columns - 1, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(rows - 1, max(y0, y1))
        if x1 >= x0 and y1 >= y0:
            mask[y0 : y1 + 1, x0 : x1 + 1] = True
            found = True
    return mask if found else None


def mostly_outside(mask: np.ndarray | None, box: Rect) -> bool:
    """True when at least half of ``box`` lies outside the declared image area."""
    if mask is None:
        return False
    x, y, w, h = box
    inside = mask[y : y + h, x : x + w]
    return inside.size > 0 and float(inside.mean()) < 0.5


def pad_box(box: Sequence[int], settings: PixelSettings, rows: int, columns: int) -> Rect | None:
    """``box`` grown by the recipe's margin and clipped to the image; None when nothing
    of it lies on the image. Frames and overlay planes are filled through this one rule."""
    x, y, w, h = box
    margin = max(0, int(settings.margin))
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(columns, x + w + margin), min(rows, y + h + margin)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0
