"""``deid ledger export-mappings``: the re-identification tables, as plain CSV.

Whoever holds these files can map outputs back to patients, so they are written owner-only
like the ledger itself, and only on request.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import UserError
from deid.pipeline.ledger import iter_parts
from deid.storage.parquet import read_schema, read_table
from deid.storage.remote import Where


def _present(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Neither null nor '' (ledgers written before absent values became nulls hold '')."""
    return pc.and_(pc.is_valid(column), pc.not_equal(column, ""))


def _unique_pairs(
    ledger: Where, table: str, old: str, new: str, extra: tuple[str, ...] = ()
) -> pa.Table:
    """Distinct (old, new) pairs; an ``extra`` column becomes the list of its values."""
    pieces = []
    for part in iter_parts(ledger, table):
        schema = read_schema(part)
        wanted = [c for c in (old, new, *extra) if c in schema.names]
        piece = read_table(part, columns=wanted)
        for name in extra:
            if name not in piece.column_names:  # a part written before the column existed
                piece = piece.append_column(name, pa.nulls(piece.num_rows, pa.string()))
        pieces.append(piece.select([old, new, *extra]))
    if not pieces:
        empty = {c: pa.array([], pa.string()) for c in (old, new, *extra)}
        return pa.table(empty)
    rows = pa.concat_tables(pieces)
    rows = rows.filter(pc.and_(_present(rows.column(old)), _present(rows.column(new))))
    rows = rows.group_by([old, new]).aggregate([(name, "distinct") for name in extra])
    rows = rows.rename_columns([c.removesuffix("_distinct") for c in rows.column_names])
    return rows.sort_by([(old, "ascending"), (new, "ascending")])


def _write_csv(path: Path, rows: pa.Table, old: str, new: str, extra: tuple[str, ...] = ()) -> int:
    """MIDI-B's ``id_old,id_new`` columns first, then any ``extra`` ones."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_old", "id_new", *extra])
        columns = [rows.column(c).to_pylist() for c in (old, new, *extra)]
        for values in zip(*columns):
            writer.writerow(["" if v is None else v for v in values])
    return rows.num_rows


def _refuse_inside_output(ledger: Where, out_dir: Where) -> None:
    """The tables re-identify every output: never write them into the output that is
    shared (``--out OUT/mappings`` is an easy slip), where they would leave with it."""
    from deid.pipeline.ledger import read_run_json

    recorded = (read_run_json(ledger) or {}).get("out")
    if not recorded:
        return
    shared = Path(os.path.realpath(recorded))
    target = Path(os.path.realpath(out_dir))
    if target == shared or shared in target.parents:
        raise UserError(
            f"{out_dir} is inside the run's output {recorded}: the mappings re-identify it; "
            "write them somewhere private"
        )


def _kind_by_rank(rows: pa.Table) -> pa.Table:
    """Per UID, the most specific kind any partition gave it (:data:`UID_KINDS` order; not
    the alphabetical first: a study UID referenced from another file is "other" there)."""
    from deid.pipeline.records import UID_KINDS

    rank = {kind: i for i, kind in enumerate(UID_KINDS)}
    kinds = [
        min((k for k in found if k), key=lambda k: rank.get(k, 99), default=None)
        for found in rows.column("kind").to_pylist()
    ]
    return rows.set_column(rows.column_names.index("kind"), "kind", pa.array(kinds, pa.string()))


def export_mappings(ledger: Where, out_dir: Where) -> dict[str, int]:
    """Write ``uid_mapping.csv`` and ``patid_mapping.csv`` (header ``id_old,id_new``)."""
    if not (ledger / "files").is_dir():
        raise UserError(f"not a deid ledger: {ledger}")
    _refuse_inside_output(ledger, out_dir)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    uids = _kind_by_rank(_unique_pairs(ledger, "uids", "uid_old", "uid_new", ("kind",)))
    patients = _unique_pairs(ledger, "files", "patient_id_in", "patient_pseudonym")
    return {
        "uid_mapping.csv": _write_csv(
            out_dir / "uid_mapping.csv", uids, "uid_old", "uid_new", ("kind",)
        ),
        "patid_mapping.csv": _write_csv(
            out_dir / "patid_mapping.csv", patients, "patient_id_in", "patient_pseudonym"
        ),
    }
