"""The Makefile's own virtual environment: made when missing, reinstalled only when
pyproject.toml changed, and used by the test and demo targets (``make -n``: nothing runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make_n(root: Path, *targets: str) -> str:
    done = subprocess.run(
        ["make", "-n", "-C", str(root), *targets, "PYTHON=/usr/bin/python3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_a_missing_environment_is_made_with_the_given_python(tree):
    plan = _make_n(tree, "python-deps")
    assert "/usr/bin/python3 -m venv .venv" in plan
    assert ".venv/bin/python -m pip install" in plan and "-e '.[test]'" in plan
    assert "touch .venv/.installed" in plan
    assert "pip install" not in plan.replace(".venv/bin/python -m pip install", "")


def test_the_install_is_skipped_until_pyproject_changes(tree):
    (tree / ".venv" / "bin").mkdir(parents=True)
    (tree / ".venv" / "bin" / "python").touch()
    stamp = tree / ".venv" / ".installed"
    stamp.touch()
    past = time.time() - 60
    os.utime(tree / "pyproject.toml", (past, past))
    assert "pip install" not in _make_n(tree, "python-deps")
    os.utime(tree / "pyproject.toml", None)  # edited now: newer than the stamp
    assert "pip install" in _make_n(tree, "python-deps")


def test_test_and_demo_run_in_the_environment(tree):
    (tree / ".venv" / "bin").mkdir(parents=True)
    (tree / ".venv" / "bin" / "python").touch()
    (tree / ".venv" / ".installed").touch()
    plan = _make_n(tree, "test")
    assert ".venv/bin/python -m pytest -q" in plan and f"{tree}/.venv/bin" in plan
    assert "chromium" in plan  # the browser of the review page's test, installed when missing
    demo = _make_n(tree, "demo")
    assert "deid run recipes/research.yaml" in demo and f'PATH="{tree}/.venv/bin:' in demo
    assert "chromium" not in demo  # only the test target needs a browser


def test_ci_runs_make_test():
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert "make test" in [line.strip() for line in lines if not line.startswith("#")]
    assert ".venv/" in (REPO / ".gitignore").read_text().splitlines()
