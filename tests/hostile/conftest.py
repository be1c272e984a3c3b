"""Fixtures for the hostile-input tests: the basic recipe and a fixed key."""

from __future__ import annotations

import pytest

from deid.recipe import builtin_recipe
from deid.rewrite.keyring import KeyRing


@pytest.fixture(scope="session")
def hostile_recipe():
    return builtin_recipe("basic")


@pytest.fixture(scope="session")
def hostile_keys() -> KeyRing:
    return KeyRing(b"hostile-tests-key-0123456789abcd")
