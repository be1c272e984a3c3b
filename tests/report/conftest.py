"""Fixtures of the report tests: one real run of the example export (shared by the module
that asks for it) and synthetic ledgers for the cases a real run cannot be put in."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_builders import build_example_run


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> dict[str, Path]:
    """The bundled example export through ``deid run research`` (one worker)."""
    return build_example_run(tmp_path_factory.mktemp("example-run"))


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEID_KEY", raising=False)
