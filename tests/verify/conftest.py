"""Shared fixtures: a de-identified pair (original, output bytes) per shipped recipe."""

from __future__ import annotations

import io

import pydicom
import pytest
from verify_data import deidentify_bytes, make_dataset, to_bytes

from deid.recipe import builtin_recipe
from deid.rewrite.keyring import KeyRing

KEY = b"verify-tests-key-0123456789abcdef"


@pytest.fixture(scope="session")
def keys() -> KeyRing:
    return KeyRing(KEY)


@pytest.fixture(scope="session", params=["basic", "research", "retain-uids"])
def pair(request, keys):
    """(recipe, original dataset, output bytes) for the rich synthetic CT."""
    recipe = builtin_recipe(request.param)
    raw = to_bytes(make_dataset())
    original = pydicom.dcmread(io.BytesIO(raw))
    return recipe, original, deidentify_bytes(raw, recipe, keys)


@pytest.fixture(scope="session")
def basic_pair(keys):
    recipe = builtin_recipe("basic")
    raw = to_bytes(make_dataset())
    return recipe, pydicom.dcmread(io.BytesIO(raw)), deidentify_bytes(raw, recipe, keys)
