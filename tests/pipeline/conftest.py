"""Fixtures of the pipeline tests (builders live in pipeline_builders.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
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


@pytest.fixture
def unprivileged_dir() -> Iterator[Path]:
    """A folder an unprivileged user may enter and write (pytest's tmp_path sits under root's
    0700 folders); removed afterwards, whatever modes the test left inside."""
    folder = Path(tempfile.mkdtemp(prefix="deid-unprivileged-", dir="/tmp"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)
