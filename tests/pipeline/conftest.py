"""Fixtures of the pipeline tests (builders live in pipeline_builders.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_builders import HEX_KEY, make_export


@pytest.fixture
def export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    make_export(root)
    return root


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text(HEX_KEY + "\n")
    return path


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their key explicitly; a developer's DEID_KEY must not leak in."""
    monkeypatch.delenv("DEID_KEY", raising=False)
