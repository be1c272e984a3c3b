"""Prove a restructuring changed no output: the same corpus through two deid trees, compared.

    python scripts/compare_runs.py BASE_TREE [--work DIR] [--recipes basic research ...]

BASE_TREE is another checkout of deid (``git worktree add /tmp/base COMMIT``). Every test
file of pydicom and pydicom-data (the corpus of ``tests/verify/test_verify_corpus.py``) is
linked into one input folder; ``deid run`` de-identifies it under each shipped recipe with a
fixed key, once with BASE_TREE's code and once with this tree's (``PYTHONPATH`` set to each,
one worker, so duplicate resolution is deterministic). Then, per recipe:

* the output trees must hold the same relative paths with byte-identical contents;
* the ledgers' ``files`` and ``uids`` tables (read with pyarrow, every column but the
  per-file ``seconds``, rows sorted) must be equal; ``run.json`` holds start/end times and
  durations, so only its ``counts`` are compared.

Prints one line per recipe and exits 1 on any difference (naming the first few).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from pydicom.data import get_charset_files, get_testdata_files

HERE = Path(__file__).resolve().parents[1]
RECIPES = ("basic", "research", "retain-uids")
KEY = "ef" * 32
#: Columns that measure the run rather than describe its result.
VOLATILE = {"seconds"}


def corpus() -> list[str]:
    """Every test file and folder, minus entries inside another listed folder."""
    entries = sorted(set(get_testdata_files()) | set(get_charset_files()))
    folders = [e for e in entries if os.path.isdir(e)]
    return [e for e in entries if not any(e.startswith(f + os.sep) for f in folders)]


def link_inputs(folder: Path) -> None:
    folder.mkdir(parents=True)
    for index, path in enumerate(corpus()):
        os.symlink(path, folder / f"{index:03d}_{os.path.basename(path)}")


def run(tree: Path, recipe: str, inputs: Path, out: Path, key: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(tree))
    recipe_file = str(tree / "recipes" / f"{recipe}.yaml")
    command = [sys.executable, "-m", "deid", "run", recipe_file, str(inputs), "--out", str(out),
               "--key-file", str(key), "--workers", "1"]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    return done.returncode


def tree_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def table_rows(folder: Path) -> list[tuple]:
    rows: list[tuple] = []
    for part in sorted(folder.glob("part-*.parquet")):
        for row in pq.read_table(part).to_pylist():
            rows.append(tuple(sorted((k, repr(v)) for k, v in row.items() if k not in VOLATILE)))
    return sorted(rows)


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two runs' outputs and ledgers (empty: identical)."""
    found: list[str] = []
    left, right = tree_digests(a), tree_digests(b)
    found += [f"only in one output: {p}" for p in sorted(set(left) ^ set(right))]
    found += [f"bytes differ: {p}" for p in sorted(set(left) & set(right)) if left[p] != right[p]]
    for table in ("files", "uids"):
        rows_a = table_rows(Path(f"{a}.ledger") / table)
        rows_b = table_rows(Path(f"{b}.ledger") / table)
        if rows_a != rows_b:
            changed = len(set(rows_a) ^ set(rows_b))
            found.append(f"ledger {table}: {len(rows_a)} vs {len(rows_b)} rows, {changed} differ")
    counts = [json.loads((Path(f"{r}.ledger") / "run.json").read_text())["counts"] for r in (a, b)]
    if counts[0] != counts[1]:
        found.append(f"run.json counts: {counts[0]} vs {counts[1]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the other deid tree (before the change)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp one)")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES))
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="deid-compare-"))
    inputs, key = work / "in", work / "key"
    link_inputs(inputs)
    key.write_text(KEY)
    failed = False
    for recipe in args.recipes:
        outs = {}
        for label, tree in (("base", args.base.resolve()), ("this", HERE)):
            outs[label] = work / label / recipe
            code = run(tree, recipe, inputs, outs[label], key)
            if code not in (0, 1):
                print(f"{recipe}: deid run with {label} exited {code}")
                failed = True
        found = differences(outs["base"], outs["this"])
        files = len(tree_digests(outs["this"]))
        rows = len(table_rows(Path(f"{outs['this']}.ledger") / "files"))
        verdict = "identical" if not found else f"{len(found)} difference(s)"
        print(f"{recipe}: {files} outputs, {rows} ledger rows: {verdict}")
        for line in found[:10]:
            print(f"  {line}")
        failed = failed or bool(found)
    print(f"work folder: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
