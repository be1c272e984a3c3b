"""Clean Pixel Data: find burned-in text (OpenCV screen + PP-OCR), black it out, re-encode.

The engine calls :func:`clean_pixels` on the original dataset when the recipe has the
Clean Pixel Data option; the outcome says what changed and where, never what was read.
"""

from __future__ import annotations

from deid.pixels.clean import clean_pixels
from deid.pixels.outcome import Box, PixelOutcome

__all__ = ["Box", "PixelOutcome", "clean_pixels"]
