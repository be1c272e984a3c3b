"""Locate the data the package ships beside its code: generated profiles and bundled recipes.

In a source checkout (``pip install -e .``) they are the top-level ``profiles/`` and
``recipes/`` folders; a wheel carries copies under ``deid/_bundled/``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


@cache
def profiles_dir() -> Path:
    """The folder of generated profile YAML files (and ``source/`` with the standard's tables)."""
    return _first_existing(_PACKAGE_DIR.parent / "profiles", _PACKAGE_DIR / "_bundled" / "profiles")


@cache
def recipes_dir() -> Path:
    """The folder of the recipes deid ships (basic, research, retain-uids, ...)."""
    return _first_existing(_PACKAGE_DIR.parent / "recipes", _PACKAGE_DIR / "_bundled" / "recipes")


def standard_table(name: str) -> Path:
    """A table of the standard as copied into ``profiles/source/`` (e.g. ``action_codes.csv``)."""
    return profiles_dir() / "source" / name
