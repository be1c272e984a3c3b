"""Shared checks for the pipeline tests: read a ledger, collect UIDs, run the CLI."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pydicom
from pydicom.dataset import Dataset

from deid.cli import main


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def ledger_rows(ledger: Path) -> list[dict]:
    rows: list[dict] = []
    for part in sorted((ledger / "files").glob("part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    return rows


def uid_map(ledger: Path) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for part in sorted((ledger / "uids").glob("part-*.parquet")):
        for row in pq.read_table(part).to_pylist():
            assert mapping.setdefault(row["uid_old"], row["uid_new"]) == row["uid_new"]
    return mapping


def dataset_uids(ds: Dataset) -> set[str]:
    """Every non-standard UID value in the data set, at every nesting level."""
    found: set[str] = set()
    stack = [ds]
    while stack:
        current = stack.pop()
        for element in current:
            if element.VR == "SQ":
                stack.extend(element.value)
            elif element.VR == "UI" and element.value:
                values = element.value if element.VM > 1 else [element.value]
                for value in values:
                    text = str(value)
                    if not text.startswith("1.2.840.10008."):
                        found.add(text)
    return found


def output_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)
