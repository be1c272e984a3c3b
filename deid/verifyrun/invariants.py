"""Read a run's ledger the way verify's workers need it, without loading it all per task.

The pipeline writes one ``files`` part per partition of *sorted* input paths, so each part
covers a contiguous path range, and Parquet keeps each column's min and max per row group.
A partition task asks pyarrow for its paths with a filter expression
(``input_path`` is in the partition's paths): pyarrow itself skips every row group whose
statistics exclude them, and reads each part's footer once per worker process (the
dataset is held, see :func:`files_dataset`). Findings name a row by its place in its part
(:func:`deid.verification.findings.ledger_row`), so a row group that pyarrow keeps is read
whole, numbered, and then filtered with the same expression. The set-level checks
(:func:`ledger_findings`, :func:`orphan_outputs`) read the whole ``files`` table once, in a
single task, with pyarrow's group-by.
"""

from __future__ import annotations

import os
from functools import lru_cache, partial

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds

from deid.folders import walk
from deid.pipeline.ledger import iter_parts, ledger_text
from deid.storage.listing import list_objects
from deid.storage.parquet import dataset as parts_dataset
from deid.storage.parquet import read_table
from deid.storage.remote import RemotePath, Where, location
from deid.storage.retry import retrying
from deid.verification.findings import Finding, ledger_row

COLUMNS = [
    "input_path",
    "status",
    "output_path",
    "sop_instance_uid_in",
    "sop_instance_uid_out",
    "series_instance_uid_in",
    "series_instance_uid_out",
    "study_instance_uid_in",
    "study_instance_uid_out",
]
#: The UID columns of the hierarchy (:func:`written_uid_sets`).
UID_COLUMNS = [c for c in COLUMNS if c.endswith(("_in", "_out"))]


def file_parts(ledger: Where) -> list[Where]:
    """The ``files`` parts, as the pipeline names them (one listing rule for both)."""
    return list(iter_parts(ledger, "files"))


@lru_cache(maxsize=4)
def files_dataset(ledger: str, signature: tuple) -> pds.Dataset | None:
    """The ``files`` parts as one pyarrow dataset (None: no part), held per worker process
    so that each part's footer (its row groups' statistics) is read once, not per task;
    ``signature`` (:func:`ledger_signature`: names and mtimes) invalidates it."""
    parts = file_parts(location(ledger))
    return parts_dataset(parts) if parts else None


def ledger_signature(ledger: Where) -> tuple:
    return tuple((p.name, p.stat().st_mtime_ns) for p in file_parts(ledger))


def rows_for(ledger: Where, paths: list[str]) -> dict[str, list[dict]]:
    """Ledger rows of the given input paths (a path may have several: that is a finding),
    keyed by the path as the ledger spells it (:func:`ledger_text`), each with its
    :data:`ROW_REF`."""
    if not paths:
        return {}
    dataset = files_dataset(str(ledger), ledger_signature(ledger))
    if dataset is None:
        return {}
    texts = sorted(ledger_text(p) for p in paths)
    values = pa.array(texts, pa.string())
    field = pds.field("input_path")
    # pyarrow skips the row groups whose statistics exclude this (the range is what it can
    # compare with a row group's min and max; ``isin`` alone is not pruned for long lists)
    wanted = (field >= texts[0]) & (field <= texts[-1]) & field.isin(values)
    rows: dict[str, list[dict]] = {}
    for fragment in dataset.get_fragments():
        name = os.path.basename(fragment.path)
        pieces = retrying(partial(fragment.split_by_row_group, wanted))
        if not pieces:
            continue
        starts = _row_group_starts(fragment)
        for piece in pieces:
            table = retrying(partial(piece.to_table, columns=COLUMNS, schema=dataset.schema))
            # each kept row's place in its part, taken before the rows are filtered
            keep = pc.indices_nonzero(pc.is_in(table["input_path"], value_set=values))
            start = starts[piece.row_groups[0].id]
            refs = [ledger_row(name, start + i) for i in keep.to_pylist()]
            table = table.take(keep).append_column(ROW_REF, pa.array(refs, pa.string()))
            for row in table.to_pylist():
                rows.setdefault(row["input_path"], []).append(row)
    return rows


def _row_group_starts(fragment: pds.ParquetFileFragment) -> list[int]:
    """The index in its part of each row group's first row (from the footer pyarrow holds)."""
    starts, total = [], 0
    for group in fragment.row_groups:
        starts.append(total)
        total += group.num_rows
    return starts


ROW_REF = "ledger_row"


def _with_row_refs(table: pa.Table, part: str, start: int = 0) -> pa.Table:
    """``table`` plus a :data:`ROW_REF` column naming each row (:func:`ledger_row`), so that
    findings can point at a row instead of quoting its input path; ``start``: the index
    of the table's first row in its part."""
    refs = pa.array([ledger_row(part, start + i) for i in range(table.num_rows)], pa.string())
    return table.append_column(ROW_REF, refs)


def read_files_table(
    ledger: Where, columns: list[str] = COLUMNS, row_refs: bool = False
) -> pa.Table:
    parts = [read_table(p, columns=columns) for p in file_parts(ledger)]
    if row_refs:
        parts = [_with_row_refs(t, p.name) for t, p in zip(parts, file_parts(ledger))]
    if not parts:
        names = [*columns, ROW_REF] if row_refs else columns
        return pa.table({c: pa.array([], pa.string()) for c in names})
    return pa.concat_tables(parts)


@lru_cache(maxsize=2)
def written_uid_sets(ledger: str, signature: tuple) -> dict[str, tuple[frozenset, frozenset]]:
    """Per level (sop/series/study): (UIDs in the input set, UIDs in the output set).

    Only written files count: a reference to a quarantined file cannot resolve, and the
    ledger already reports the quarantine (pyarrow reads only those rows: a filter on
    ``status``). Held once per worker process.
    """
    dataset = files_dataset(ledger, signature)
    if dataset is None:
        table = pa.table({c: pa.array([], pa.string()) for c in UID_COLUMNS})
    else:
        written = pds.field("status") == "written"
        table = retrying(lambda: dataset.to_table(columns=UID_COLUMNS, filter=written))
    sets = {}
    for level in ("sop", "series", "study"):
        prefix = f"{level}_instance_uid"
        inputs = frozenset(v for v in table[f"{prefix}_in"].to_pylist() if v)
        outputs = frozenset(v for v in table[f"{prefix}_out"].to_pylist() if v)
        sets[level] = (inputs, outputs)
    return sets


def _first_output(table: pa.Table, key: str) -> dict[str, str]:
    grouped = table.group_by(key).aggregate([("output_path", "min")])
    return dict(zip(grouped[key].to_pylist(), grouped["output_path_min"].to_pylist()))


def orphan_outputs(ledger: Where, out_dir: Where, table: pa.Table | None = None) -> list[Finding]:
    """Files in the output tree that no ledger row names (``orphan-output``).

    Leftovers of another run, another key, or a temp file of an interrupted write: nothing
    vouches for what is in them, so they must not be shared as part of this output. The
    tree is walked by :func:`deid.folders.walk` without entering linked folders (a link is
    an entry like a file: deid writes none); a folder that cannot be listed is itself a
    finding (``unlistable-output``), not a silent gap.
    ``table``: the ``files`` table when the caller has read it already.
    """
    if table is None:
        table = read_files_table(ledger, ["output_path"])
    named = set(table["output_path"].to_pylist())
    findings = []
    if isinstance(out_dir, RemotePath):
        for url in list_objects(out_dir.url):
            relpath = url[len(out_dir.url.rstrip("/")) + 1 :]
            if relpath not in named:
                findings.append(Finding(relpath, "file", "orphan-output"))
        return sorted(findings, key=lambda f: f.output)
    top = str(out_dir)
    for entry in walk(top, follow_symlinks=False):
        relpath = ledger_text(os.path.relpath(entry.path, top))
        if entry.error is not None:
            if entry.path == top and isinstance(entry.error, FileNotFoundError):
                continue  # no output folder at all: every written row is a missing-output
            # What it holds cannot be vouched for: never "no orphan" for what nobody saw.
            findings.append(Finding(relpath, "folder", "unlistable-output"))
        elif relpath not in named:
            findings.append(Finding(relpath, "file", "orphan-output"))
    return sorted(findings, key=lambda f: f.output)


def ledger_findings(ledger: Where, table: pa.Table | None = None) -> list[Finding]:
    """Set-level invariants of the ledger and the UID hierarchy it records.

    - every input appears exactly once (``duplicate-record``, named by its ledger rows);
    - one original study -> one new study and back (``study-split`` / ``study-merge``), the
      same for series and instances; findings name an output of the group, never a UID.

    ``table``: the ``files`` table (:data:`COLUMNS` and :data:`ROW_REF`) when the caller has
    read it already.
    """
    if table is None or ROW_REF not in table.column_names:
        table = read_files_table(ledger, row_refs=True)
    findings: list[Finding] = []
    counts = table.group_by("input_path").aggregate([(ROW_REF, "list")])
    for path, refs in zip(counts["input_path"].to_pylist(), counts[f"{ROW_REF}_list"].to_pylist()):
        if len(refs) > 1:  # named by its rows: the input path is shown only on request
            where = "ledger " + ", ".join(sorted(refs))
            findings.append(Finding(where, "ledger", "duplicate-record", input_path=path))
    written = table.filter(pc.equal(table["status"], "written"))
    for level, attribute in (
        ("study", "StudyInstanceUID"),
        ("series", "SeriesInstanceUID"),
        ("sop", "SOPInstanceUID"),
    ):
        name = "instance" if level == "sop" else level
        old, new = f"{level}_instance_uid_in", f"{level}_instance_uid_out"
        rows = written.filter(
            pc.and_(pc.not_equal(written[old], ""), pc.not_equal(written[new], ""))
        )
        for key, other, kind in ((old, new, f"{name}-split"), (new, old, f"{name}-merge")):
            grouped = rows.group_by(key).aggregate([(other, "count_distinct")])
            bad = grouped.filter(pc.greater(grouped[f"{other}_count_distinct"], 1))
            if bad.num_rows:
                example = _first_output(rows.filter(pc.is_in(rows[key], bad[key])), key)
                findings.extend(Finding(example[k], attribute, kind) for k in bad[key].to_pylist())
    return findings
