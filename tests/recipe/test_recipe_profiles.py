"""The generated profiles say exactly what Table E.1-1 and Table E.3.10-1 say, row for row."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deid.recipe.model import OPTION_COLUMNS, OPTIONS
from deid.resources import standard_table

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "profiles" / "source"
OPTION_NAMES = [name for name in OPTIONS]


def _table() -> list[dict[str, str]]:
    with (SOURCE / "confidentiality_profile.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "profiles" / f"{name}.yaml").read_text(encoding="utf-8"))


def test_basic_profile_matches_the_table_row_for_row():
    rows = _table()
    entries = _profile("basic")["attributes"]
    assert len(rows) == 657 == len(entries)
    for row, entry in zip(rows, entries):
        assert entry["tag"] == row["tag"]
        assert entry["name"] == row["attribute_name"]
        assert entry["action"] == row["basic_profile"]
        assert entry.get("retired", False) == (row["retired"] == "Y")


@pytest.mark.parametrize("option", OPTION_NAMES)
def test_option_profile_matches_its_column(option: str):
    column = OPTIONS[option][1]
    doc = _profile(option)
    assert doc["edition"] == "2026d"
    assert doc["code"]["value"] == OPTIONS[option][0]
    assert doc["column"] == column
    if column is None:
        assert doc["attributes"] == []
        assert doc["meaning"]
        return
    expected = [(r["tag"], r["attribute_name"], r[column]) for r in _table() if r[column]]
    got = [(e["tag"], e["name"], e["action"]) for e in doc["attributes"]]
    assert got == expected
    assert doc["rows"] == len(expected)


def test_every_option_column_of_the_table_is_covered():
    header = _table()[0].keys()
    columns = {c for c in header if c.startswith(("retain_", "clean_"))}
    assert columns == {c for _code, c in OPTIONS.values() if c}


def test_pattern_rows_are_represented():
    tags = [e["tag"] for e in _profile("basic")["attributes"]]
    for pattern in ("(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)", "(gggg,eeee) where gggg is odd"):
        assert pattern in tags
    graphics = [e["tag"] for e in _profile("clean-graphics")["attributes"]]
    assert {"(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)"} <= set(graphics)


def test_safe_private_lists_every_row_of_table_e3_10_1():
    with (SOURCE / "safe_private_attributes.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    listed = _profile("retain-safe-private")["safe-private"]
    assert len(listed) == len(rows) == 479
    for row, entry in zip(rows, listed):
        assert (
            entry["creator"],
            entry["group"],
            entry["element"],
            entry["vr"],
            entry["meaning"],
        ) == (
            row["private_creator"],
            row["group"],
            row["element_in_block"],
            row["vr"],
            row["meaning"],
        )


def test_every_row_is_on_its_own_line():
    text = (ROOT / "profiles" / "basic.yaml").read_text(encoding="utf-8")
    row_lines = [line for line in text.splitlines() if line.startswith("  - {tag:")]
    assert len(row_lines) == 657
    assert "GENERATED" in text.splitlines()[0]


def test_generator_check_passes_on_committed_files():
    result = subprocess.run(
        [sys.executable, "scripts/generate_profiles.py", "--out", "profiles", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_check_fails_on_a_changed_file(tmp_path: Path):
    out = tmp_path / "profiles"
    shutil.copytree(ROOT / "profiles", out, ignore=shutil.ignore_patterns("source"))
    target = out / "basic.yaml"
    target.write_text(target.read_text().replace('action: "Z/D"', 'action: "K"', 1))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/generate_profiles.py"), "--out", str(out), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "basic.yaml" in result.stdout and "differs" in result.stdout
    removed = [ln for ln in result.stdout.splitlines() if ln.startswith("-  - {")]
    added = [ln for ln in result.stdout.splitlines() if ln.startswith("+  - {")]
    assert len(removed) == len(added) == 1
    assert 'action: "K"' in removed[0] and 'action: "Z/D"' in added[0]


def test_generator_options_agree_with_the_model():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "recipe_generate_profiles", ROOT / "scripts" / "generate_profiles.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    assert module.OPTION_COLUMNS is OPTION_COLUMNS  # one table, not a copy kept in step
    assert {name: column for name, (_code, column) in OPTIONS.items()} == module.OPTION_COLUMNS
    assert module.EDITION == "2026d"


def test_option_columns_are_the_standard_tables_columns():
    """Every option column of Table E.1-1 belongs to exactly one option, and no option names
    a column the table does not have."""
    with standard_table("confidentiality_profile.csv").open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    table_columns = set(header[header.index("basic_profile") + 1 :])
    named = [column for column in OPTION_COLUMNS.values() if column is not None]
    assert sorted(named) == sorted(table_columns)
