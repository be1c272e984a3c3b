"""Shared fixtures for the example-export tests: the export is built once per session.

``examples/`` is not a package (it is not shipped); its scripts are imported by putting
the folder on ``sys.path``, the same way any other test folder can.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLES_DIR))

from make_export import build_export  # noqa: E402


@pytest.fixture(scope="session")
def example_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(export root, every file build_export wrote) for seed 0."""
    root = tmp_path_factory.mktemp("examples") / "export"
    return root, build_export(root, seed=0)
