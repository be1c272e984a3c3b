"""Fixtures for the pixel tests (builders live in pixels_helpers.py)."""

from __future__ import annotations

import pytest

from deid.recipe.model import PixelSettings


@pytest.fixture
def settings() -> PixelSettings:
    """Clean Pixel Data on, every file selected, OCR on, default margin."""
    return PixelSettings(enabled=True)
