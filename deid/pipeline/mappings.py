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
import pyarrow.parquet as pq

from deid.errors import UserError
from deid.pipeline.ledger import iter_parts


def _unique_pairs(ledger: Path, table: str, old: str, new: str) -> pa.Table:
    pieces = [pq.read_table(p, columns=[old, new]) for p in iter_parts(ledger, table)]
    if not pieces:
        return pa.table({old: pa.array([], pa.string()), new: pa.array([], pa.string())})
    rows = pa.concat_tables(pieces)
    rows = rows.filter(
        pc.and_(pc.not_equal(rows.column(old), ""), pc.not_equal(rows.column(new), ""))
    )
    rows = rows.group_by([old, new]).aggregate([])
    return rows.sort_by([(old, "ascending"), (new, "ascending")])


def _write_csv(path: Path, rows: pa.Table, old: str, new: str) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_old", "id_new"])
        for a, b in zip(rows.column(old).to_pylist(), rows.column(new).to_pylist()):
            writer.writerow([a, b])
    return rows.num_rows


def _refuse_inside_output(ledger: Path, out_dir: Path) -> None:
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


def export_mappings(ledger: Path, out_dir: Path) -> dict[str, int]:
    """Write ``uid_mapping.csv`` and ``patid_mapping.csv`` (header ``id_old,id_new``)."""
    if not (ledger / "files").is_dir():
        raise UserError(f"not a deid ledger: {ledger}")
    _refuse_inside_output(ledger, out_dir)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    uids = _unique_pairs(ledger, "uids", "uid_old", "uid_new")
    patients = _unique_pairs(ledger, "files", "patient_id_in", "patient_pseudonym")
    return {
        "uid_mapping.csv": _write_csv(out_dir / "uid_mapping.csv", uids, "uid_old", "uid_new"),
        "patid_mapping.csv": _write_csv(
            out_dir / "patid_mapping.csv", patients, "patient_id_in", "patient_pseudonym"
        ),
    }
