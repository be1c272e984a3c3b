"""Settle which input owns each contested output name, the same way on every run.

Two inputs with the same SOP Instance UID map to the same output name. Workers never
overwrite (see :func:`deid.pipeline.per_file.write_unique`), so whichever wrote first holds the
name and the others are recorded as ``duplicate``: correct, but timing-dependent. This pass,
run once after all partitions, makes the choice deterministic: the input whose path sorts
first wins. If the file on disk came from another input, the winner is de-identified again
and its bytes replace the file (the one deliberate overwrite); the ledger rows of the group
are rewritten to match. Running it again changes nothing, so a run killed during this pass
simply repeats it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds

from deid.folders import walk
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.per_file import (
    TEMP_SUFFIX,
    WorkContext,
    new_record,
    prepare,
    replace_atomic,
)
from deid.storage.locations import is_url
from deid.storage.parquet import read_table
from deid.storage.remote import RemotePath, Where, location


def _contested(ledger: Where) -> pa.Table:
    """Rows (input_path, output_path, status, partition) of names claimed more than once
    or held by a provisional duplicate."""
    pieces = []
    # pyarrow applies the filter while it reads (a bucket's parts are not copied whole).
    claimed = pds.field("status").isin(["written", "duplicate"]) & (pds.field("output_path") != "")
    for path in ledger_mod.iter_parts(ledger, "files"):
        columns = ["input_path", "output_path", "status", "reason", "partition"]
        pieces.append(read_table(path, columns=columns, filters=claimed))
    if not pieces:
        return pa.table(
            {"input_path": [], "output_path": [], "status": [], "reason": [], "partition": []}
        )
    rows = pa.concat_tables(pieces)
    counts = rows.group_by("output_path").aggregate([("input_path", "count")])
    many = counts.filter(pc.greater(counts.column("input_path_count"), 1)).column("output_path")
    provisional = rows.filter(pc.equal(rows.column("status"), "duplicate")).column("output_path")
    names = pa.concat_arrays([many.combine_chunks(), provisional.combine_chunks()])
    return rows.filter(pc.is_in(rows.column("output_path"), names.unique()))


def duplicate_reason(original: str) -> str:
    """A duplicate's reason names the input whose output it is, so a reader can find it."""
    return f"duplicate of {original} (same SOP Instance UID or identical content)"


def resolve(
    ledger: Where, out_dir: Where, ctx: WorkContext | Callable[[], WorkContext]
) -> dict[str, int]:
    """Make every contested name belong to its smallest input path; returns counts.

    ``ctx`` may be a factory: most runs contest no name, and then the recipe is never
    unpickled (nor the engine imported) in this task.
    """
    rows = _contested(ledger).to_pylist()
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["output_path"], []).append(row)
    changes: dict[int, dict[str, tuple[str, str | None]]] = {}
    rewritten = 0
    for name, members in sorted(groups.items()):
        members.sort(key=lambda r: r["input_path"])
        winner, losers = members[0], members[1:]
        if winner["status"] != "written":
            if callable(ctx):
                ctx = ctx()
            record = new_record(winner["input_path"], ctx)
            try:
                prepared = prepare(winner["input_path"], ctx, record)
            except Exception:  # gone or changed since its partition ran (see below)
                prepared = None
            if prepared is None or record.output_path != name:
                # The winner no longer yields this name (its input changed or vanished
                # since): leave the name with whoever holds it, as before this pass; one
                # such input must not fail the end of the whole run.
                continue
            replace_atomic(out_dir / name, prepared.output)
            rewritten += 1
            changes.setdefault(winner["partition"], {})[winner["input_path"]] = ("written", None)
        reason = duplicate_reason(winner["input_path"])
        for loser in losers:
            if loser["status"] != "duplicate" or loser["reason"] != reason:
                changes.setdefault(loser["partition"], {})[loser["input_path"]] = (
                    "duplicate",
                    reason,
                )
    for partition, updates in changes.items():
        _update_part(ledger, partition, updates)
    return {
        "contested": len(groups),
        "rewritten": rewritten,
        "rows_changed": sum(map(len, changes.values())),
    }


def _update_part(ledger: Where, partition: int, updates: dict[str, tuple[str, str | None]]) -> None:
    path = ledger_mod.part_path(ledger, "files", partition)
    table = read_table(path)
    content_hash = (table.schema.metadata or {}).get(ledger_mod.HASH_KEY, b"").decode()
    inputs = table.column("input_path").to_pylist()
    status = table.column("status").to_pylist()
    reason = table.column("reason").to_pylist()
    for i, input_path in enumerate(inputs):
        if input_path in updates:
            status[i], reason[i] = updates[input_path]
    table = table.set_column(
        table.schema.get_field_index("status"), "status", pa.array(status, pa.string())
    )
    table = table.set_column(
        table.schema.get_field_index("reason"), "reason", pa.array(reason, pa.string())
    )
    ledger_mod.write_table_atomic(table, path, content_hash)


def sweep_temp_files(out_dir: Where) -> int:
    """Remove temp files left by killed writers (their final names were never taken).

    Linked folders are not entered (deid writes none; the sweep deletes, so it never
    follows a link out of the output). A folder it cannot list holds nothing it can sweep:
    verify reports such a folder (``unlistable-output``)."""
    if isinstance(out_dir, RemotePath):
        return 0  # objects are written whole (one PUT): no temp objects to sweep
    removed = 0
    for entry in walk(str(out_dir), follow_symlinks=False):
        if entry.error is None and entry.name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def finish_run(setup, n_partitions: int) -> dict[str, int]:
    """The run's last task (on a worker): duplicates, stale parts, temp files."""
    from deid.storage.filesystems import configure

    configure(getattr(setup, "storage_options", None), getattr(setup, "storage_env", None))
    ledger = location(setup.ledger_dir)
    stale = ledger_mod.remove_stale(ledger, n_partitions)
    if "://" in setup.out_dir and not is_url(setup.out_dir):
        # a PACS --out: no output folder to settle or sweep
        return {"stale_parts": stale, "temp_files": 0}
    out_dir = location(setup.out_dir)

    def context() -> WorkContext:
        return WorkContext(
            recipe=pickle.loads(setup.recipe_pickle),
            keys=setup.keys,
            out_dir=out_dir,
            verify=setup.verify,
            limits=setup.limits,
        )

    result = resolve(ledger, out_dir, context)
    result["stale_parts"] = stale
    result["temp_files"] = sweep_temp_files(out_dir)
    return result
