"""verify reads its ledger rows with pyarrow's filters: the same rows, the same row names."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from deid.verifyrun.invariants import (
    COLUMNS,
    ROW_REF,
    ledger_signature,
    read_files_table,
    rows_for,
    written_uid_sets,
)


def _column(name: str, chunk: list[str]) -> list[str]:
    if name == "input_path":
        return chunk
    if name == "status":  # every third row quarantined
        return ["quarantined" if n % 3 == 0 else "written" for n in range(len(chunk))]
    return [f"{name}-{path}" for path in chunk]


def _write_parts(ledger: Path, paths: list[str], per_part: int, row_group: int) -> None:
    files = ledger / "files"
    files.mkdir(parents=True, exist_ok=True)
    for old in files.iterdir():
        old.unlink()
    for index in range(0, len(paths), per_part):
        chunk = paths[index : index + per_part]
        table = pa.table({name: _column(name, chunk) for name in COLUMNS})
        part = files / f"part-{index // per_part:06d}.parquet"
        pq.write_table(table, part, row_group_size=row_group)


def _brute_force(ledger: Path, paths: list[str]) -> dict[str, list[dict]]:
    wanted = set(paths)
    rows: dict[str, list[dict]] = {}
    for row in read_files_table(ledger, row_refs=True).to_pylist():
        if row["input_path"] in wanted:
            rows.setdefault(row["input_path"], []).append(row)
    return rows


def test_the_rows_and_their_names_are_those_of_the_whole_table(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    paths = sorted(f"/in/{i:05d}.dcm" for i in range(500))
    paths.insert(321, paths[320])  # one input twice (a duplicate-record finding)
    _write_parts(ledger, paths, per_part=120, row_group=17)
    rng = random.Random(7)
    for _ in range(20):
        start = rng.randrange(len(paths))
        asked = [*paths[start : start + rng.randrange(1, 90)], "/in/not-in-the-ledger"]
        assert rows_for(ledger, asked) == _brute_force(ledger, asked)
    (twice,) = [v for v in rows_for(ledger, [paths[320]]).values()]
    assert [r[ROW_REF] for r in twice] == ["part-000002.parquet:80", "part-000002.parquet:81"]
    assert rows_for(ledger, []) == {}


def test_a_rewritten_ledger_is_read_again_and_uid_sets_hold_written_rows_only(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger"
    _write_parts(ledger, ["/a", "/b", "/c"], per_part=2, row_group=1)
    assert set(rows_for(ledger, ["/a", "/c"])) == {"/a", "/c"}
    sets = written_uid_sets(str(ledger), ledger_signature(ledger))
    assert sets["sop"][0] == {"sop_instance_uid_in-/b"}  # "/a" and "/c" are quarantined
    _write_parts(ledger, ["/x", "/y"], per_part=5, row_group=5)
    stamp = os.stat(ledger / "files" / "part-000000.parquet").st_mtime_ns + 10**9
    os.utime(ledger / "files" / "part-000000.parquet", ns=(stamp, stamp))
    assert set(rows_for(ledger, ["/a", "/x", "/y"])) == {"/x", "/y"}
