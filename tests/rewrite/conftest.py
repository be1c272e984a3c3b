"""Fixtures for the rewriting engine's tests (helpers live in rewrite_support.py)."""

from __future__ import annotations

import pytest
from rewrite_support import SECRET

from deid.rewrite.keyring import KeyRing


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing(SECRET)
