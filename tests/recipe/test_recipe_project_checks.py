"""Checks the code already assumes: typed package, pre-commit hooks, the pydicom range the fast
writer was checked against, ``mypy deid`` clean, and the import layers kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pydicom
import yaml
from packaging.specifiers import SpecifierSet
from pydicom.filebase import DicomBytesIO

from deid.rewrite import fastwrite
from deid.rewrite.writer import PREAMBLE, build_file_meta, encode_part10, transfer_syntax_of

ROOT = Path(__file__).resolve().parents[2]


def _pinned(name: str) -> SpecifierSet:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(rf'^\s*"{name}([<>=!~][^"]*)",', text, re.MULTILINE)
    assert match, f"{name} is not a dependency in pyproject.toml"
    return SpecifierSet(match[1])


def test_the_installed_pydicom_is_one_the_fast_writer_was_checked_against():
    """Fails loudly on a newer pydicom, before any output could differ: re-run
    tests/rewrite/test_rewrite_fastwrite.py on it, then widen CHECKED_PYDICOM and the pin."""
    version = pydicom.__version__
    assert fastwrite.pydicom_checked(version), (
        f"pydicom {version} is not a release deid/rewrite/fastwrite.py was checked against "
        f"({fastwrite.CHECKED_PYDICOM}); the fast writer is off until it is"
    )
    assert version in _pinned("pydicom")


def test_the_pin_and_the_writer_name_the_same_releases():
    pin = _pinned("pydicom")
    for major, minor in fastwrite.CHECKED_PYDICOM:
        assert f"{major}.{minor}.0" in pin and f"{major}.{minor}.9" in pin
    newest = max(fastwrite.CHECKED_PYDICOM)
    assert f"{newest[0]}.{newest[1] + 1}.0" not in pin
    assert f"{newest[0] + 1}.0.0" not in pin
    assert not fastwrite.pydicom_checked(f"{newest[0]}.{newest[1] + 1}.0")
    assert not fastwrite.pydicom_checked("nonsense")


def _dataset() -> pydicom.Dataset:
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    ds.PatientName = "X"
    return ds


def test_outside_the_checked_range_the_writer_is_dcmwrite(monkeypatch):
    """Another pydicom: encode_fast declines, so the bytes are pydicom's own dcmwrite's."""
    ds = _dataset()
    ds.file_meta = build_file_meta(ds, transfer_syntax_of(ds))
    ds.preamble = PREAMBLE
    assert fastwrite.encode_fast(ds) is not None  # the common case, normally the fast path
    monkeypatch.setattr(fastwrite, "_CHECKED", False)
    assert fastwrite.encode_fast(ds) is None
    called = []
    real = fastwrite.encode_fast
    monkeypatch.setattr("deid.rewrite.writer.encode_fast", lambda d: called.append(1) or real(d))
    out = encode_part10(_dataset())
    assert called  # the writer asked, and fell back
    expected = _dataset()
    expected.file_meta = build_file_meta(expected, transfer_syntax_of(expected))
    expected.preamble = PREAMBLE
    buffer = DicomBytesIO()
    pydicom.dcmwrite(buffer, expected, enforce_file_format=True)
    assert out == buffer.getvalue()


def test_the_package_says_it_is_typed():
    assert (ROOT / "deid" / "py.typed").is_file()


def test_mypy_is_clean_on_deid_and_scripts(tmp_path):
    """The whole package type-checks (``make lint`` runs the same), in a fresh cache."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path), "deid", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_graph_keeps_its_layers_and_has_no_cycle():
    """pyproject's import-linter contracts: each layer imports only the layers below it, and
    no two sibling packages or modules import each other (``make lint`` runs the same)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    contracts = re.findall(r"^(.+) KEPT", result.stdout, re.MULTILINE)
    assert len(contracts) == 2, result.stdout


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_pre_commit_runs_ruff_mypy_and_deid_validate():
    assert {"ruff", "ruff-format", "mypy", "deid-validate"} <= set(_hooks())


def test_the_deid_validate_hook_passes_on_the_shipped_recipes():
    """Run the hook as pre-commit would: its entry, with the files its pattern selects."""
    hook = _hooks()["deid-validate"]
    files = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "recipes").iterdir()
        if re.search(hook["files"], str(p.relative_to(ROOT)))
    )
    assert len(files) >= 3
    entry = hook["entry"].split()
    assert entry[0] == "python"
    result = subprocess.run(
        [sys.executable, *entry[1:], *files], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid") == len(files)
