"""``deid report --status S``: which files, and why, as text, CSV or JSON.

The ledger is read part by part (one partition in memory at a time), so listing a run of a
million files costs the memory of one partition. Rows come in input-path order within each
partition, and partitions in plan order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pds

from deid.errors import UserError
from deid.pipeline.ledger import iter_parts
from deid.storage.parquet import read_schema, read_table
from deid.storage.remote import Where

#: The columns a listing shows, in order.
LIST_COLUMNS = ("input_path", "status", "reason", "output_path")
FORMATS = ("text", "csv", "json")


def read_part(path: Path, columns: list[str] | None = None, filters=None) -> pa.Table:
    """One ledger part (``filters``: a pyarrow expression applied while reading); a
    damaged one is a one-line user error naming it."""
    try:
        schema = read_schema(path)
        wanted = None if columns is None else [c for c in columns if c in schema.names]
        table = read_table(path, columns=wanted, filters=filters)
    except (OSError, pa.ArrowException) as error:
        raise UserError(f"damaged ledger part {path}: {error}") from None
    for name in columns or ():
        if name not in table.column_names:  # a part written before the column existed
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


def iter_rows(ledger: Where, statuses: Iterable[str]) -> Iterator[dict]:
    """Ledger rows whose status is one of ``statuses``, with :data:`LIST_COLUMNS`."""
    wanted = pds.field("status").isin(sorted(set(statuses)))
    for part in iter_parts(ledger, "files"):
        table = read_part(part, list(LIST_COLUMNS), filters=wanted)
        table = table.sort_by([("input_path", "ascending")])
        yield from table.to_pylist()


def _text(row: dict) -> str:
    reason = row["reason"] or ""
    return f"{row['input_path']}\t{row['status']}\t{reason}"


def render(rows: Iterable[dict], fmt: str) -> Iterator[str]:
    """Lines (text: tab-separated path, status, reason; CSV with a header; JSON: one array
    of objects, streamed so that it never needs the whole list in memory)."""
    if fmt == "text":
        for row in rows:
            yield _text(row)
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        yield buffer.getvalue().rstrip("\n")
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(["" if row[c] is None else row[c] for c in LIST_COLUMNS])
            yield buffer.getvalue().rstrip("\n")
    elif fmt == "json":
        first = True
        for row in rows:
            text = json.dumps({c: row[c] for c in LIST_COLUMNS}, ensure_ascii=False)
            yield ("[" if first else ",") + text
            first = False
        yield "[]" if first else "]"
    else:  # argparse's choices make this unreachable from the CLI
        raise ValueError(f"unknown format {fmt!r}")
