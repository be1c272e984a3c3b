"""Verify a whole run: partitions of input paths on Dask, the set-level checks in one task.

Same shape as the pipeline: the client holds the sorted path list and counters; each
partition task reads its own ledger rows (only the parts whose path range overlaps), its
inputs and its outputs, and returns findings as small tuples and counts. One more task reads
the whole ``files`` table for the set-level invariants (every input once, hierarchy). With
one worker and no scheduler everything runs in this process (no cluster start-up cost).

The set-level task also lists files in the output tree that no ledger row names
(``orphan-output``: another run's leftovers or an interrupted write's temp file).

Per written file: the needles of the original are searched in the output (see
:mod:`deid.verification.scan`); the output's UIDs must match its ledger row; and every
reference (Referenced SOP Instance UID anywhere, nested Series/Study Instance UIDs) whose
target was written from the input set must, at the same attribute path in the output, name
a UID that exists in the output set (``dangling-reference`` otherwise). A path the recipe
removed is not a dangling reference.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from deid.errors import UserError
from deid.pipeline.ledger import ledger_text
from deid.pipeline.plan import DEFAULT_PARTITION_SIZE
from deid.reading import parse, read_input
from deid.recipe.model import Recipe
from deid.storage.locations import is_url, location
from deid.verification.crossindex import CrossIndex, index_partition, merge
from deid.verification.findings import Finding, VerifyReport, input_number
from deid.verification.ledger import (
    ledger_findings,
    ledger_signature,
    orphan_outputs,
    read_files_table,
    rows_for,
    written_uid_sets,
)
from deid.verification.pixeltext import pixel_findings
from deid.verification.scan import read_output, scan_dataset
from deid.verification.values import gather
from deid.verification.walk import walk

#: Reference attributes and the hierarchy level of their target; the nested-only ones are
#: references only inside a sequence (at the top level they are the file's own identity).
REFERENCE_TAGS = {0x00081155: "sop", 0x00041511: "sop"}
NESTED_REFERENCE_TAGS = {0x0020000E: "series", 0x0020000D: "study"}
IDENTITY = (
    ("sop", "SOPInstanceUID"),
    ("series", "SeriesInstanceUID"),
    ("study", "StudyInstanceUID"),
)


@dataclass(frozen=True)
class VerifySetup:
    """What every partition task shares (scattered once)."""

    recipe_pickle: bytes
    out_dir: str
    ledger_dir: str
    #: The run's identities (:mod:`deid.verification.crossindex`), as array bytes.
    cross_index: bytes = b""
    #: Which outputs' pixels are re-read by OCR (:mod:`deid.verification.pixeltext`).
    pixels: str = "cleaned"


@lru_cache(maxsize=2)
def _recipe(recipe_pickle: bytes) -> Recipe:
    return pickle.loads(recipe_pickle)


@lru_cache(maxsize=2)
def _cross(data: bytes) -> CrossIndex:
    return CrossIndex.from_bytes(data)


def references(dataset: Dataset) -> dict[str, tuple[str, str]]:
    """attribute path -> (level, UID) for every reference in ``dataset``."""
    found: dict[str, tuple[str, str]] = {}

    def visit(path: str, element: Any, level: Dataset, state: Any) -> Any:
        tag = int(element.tag)
        kind = REFERENCE_TAGS.get(tag) or ("." in path and NESTED_REFERENCE_TAGS.get(tag))
        if kind:
            value = getattr(element, "value", None)
            if isinstance(value, str) and value.strip("\x00 "):
                found[path] = (kind, value.strip("\x00 "))
        return None

    walk(dataset, visit)
    return found


def _read_original(path: str) -> Dataset:
    """The input read exactly as the pipeline reads it (same sniffing, same force rule)."""
    data, kind = read_input(path)
    return parse(data, kind)


def check_written(
    input_path: str,
    row: dict,
    out_dir: Path,
    recipe: Recipe,
    refs: list[tuple],
    cross: CrossIndex | None = None,
    pixels: str = "cleaned",
) -> list[Finding]:
    """Findings for one written input; appends its references to ``refs`` for later.

    ``input_path`` is the file to read; findings name it as the ledger does (``row``)."""
    relpath = row.get("output_path") or ""
    name = row["input_path"]
    # Named by output (or ledger row), never by input path: see deid.verification.findings.
    where = relpath or f"ledger {row.get('ledger_row') or '?'}"
    try:
        output = (out_dir / relpath).read_bytes() if relpath else None
    except OSError:
        output = None
    if output is None:
        return [Finding(where, "file", "missing-output", input_path=name)]
    try:
        original = _read_original(input_path)
        ident = gather(original, recipe)
    except Exception:
        return [Finding(where, "input", "unreadable-input", input_path=name)]
    out_ds = read_output(output)
    if out_ds is None:
        return [Finding(relpath, "file", "unreadable-output")]
    findings = scan_dataset(ident, output, out_ds, relpath)
    if cross:
        findings += cross.findings(out_ds, original, recipe, relpath)
    findings += pixel_findings(original, out_ds, relpath, recipe, pixels)
    for level, keyword in IDENTITY:  # the ledger must describe the files as they are
        actual = str(out_ds.get(keyword) or "").strip("\x00 ")
        if actual != (row.get(f"{level}_instance_uid_out") or ""):
            findings.append(Finding(relpath, keyword, "ledger-mismatch"))
        source = str(original.get(keyword) or "").strip("\x00 ")
        if not source and level == "sop":  # no SOP Instance UID: the file meta names it
            meta = getattr(original, "file_meta", None)
            source = str((meta or {}).get("MediaStorageSOPInstanceUID") or "").strip("\x00 ")
        if source != (row.get(f"{level}_instance_uid_in") or ""):
            findings.append(Finding(where, keyword, "ledger-mismatch", input_path=name))
    out_refs = references(out_ds)
    for path, (level, uid_in) in references(original).items():
        if path in out_refs:
            refs.append((relpath, path, level, uid_in, out_refs[path][1]))
    return findings


def verify_partition(paths: list[str], setup: VerifySetup, start: int = 0) -> dict:
    """One partition: findings as (output, path, kind) tuples and counts, nothing else.

    pydicom's warnings quote element values, so they are silenced here: a verify log must
    not become a copy of the identities it checks for.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _verify_partition(paths, setup, start)


def _verify_partition(paths: list[str], setup: VerifySetup, start: int) -> dict:
    recipe = _recipe(setup.recipe_pickle)
    cross = _cross(setup.cross_index)
    out_dir, ledger = location(setup.out_dir), location(setup.ledger_dir)
    rows = rows_for(ledger, paths)
    findings: list[Finding] = []
    statuses: Counter = Counter()
    checked = 0
    refs: list[tuple] = []
    for position, path in enumerate(paths, start):
        name = ledger_text(path)
        records = rows.get(name)
        if not records:
            where = input_number(position)
            findings.append(Finding(where, "ledger", "missing-record", input_path=name))
            continue
        for row in records:
            statuses[row["status"]] += 1
            if row["status"] == "written":
                checked += 1
                findings.extend(
                    check_written(path, row, out_dir, recipe, refs, cross, setup.pixels)
                )
    if refs:
        sets = written_uid_sets(str(ledger), ledger_signature(ledger))
        for relpath, attr_path, level, uid_in, uid_out in refs:
            inputs, outputs = sets[level]
            if uid_in in inputs and uid_out not in outputs:
                findings.append(Finding(relpath, attr_path, "dangling-reference"))
    return {
        "findings": [f.as_tuple() for f in findings],
        "statuses": dict(statuses),
        "checked": checked,
    }


def verify_ledger(setup: VerifySetup) -> dict:
    """The set-level task: the whole ``files`` table, read once for every check."""
    ledger = location(setup.ledger_dir)
    table = read_files_table(ledger, row_refs=True)
    out_dir = location(setup.out_dir)
    findings = ledger_findings(ledger, table) + orphan_outputs(ledger, out_dir, table)
    return {"findings": [f.as_tuple() for f in findings], "records": table.num_rows}


def recipe_from_ledger(ledger: Path) -> Recipe:
    """The recipe named in the ledger's run.json (the default for ``deid verify``)."""
    from deid.pipeline.ledger import read_run_json
    from deid.recipe import load_recipe

    info = read_run_json(ledger) or {}
    path = info.get("recipe_path")
    if not path:
        raise UserError(f"{ledger}/run.json names no recipe; give --recipe")
    if not Path(path).is_file():
        raise UserError(f"the run's recipe {path} is gone; give --recipe")
    return load_recipe(path)


def _run_inputs(ledger: Path) -> tuple[list[str], str | None]:
    from deid.pipeline.ledger import read_inputs_json

    inputs, manifest = read_inputs_json(ledger)
    if not inputs and not manifest:
        raise UserError(f"{ledger}/inputs.json names no inputs; give --input")
    for recorded in [*inputs, *([manifest] if manifest else [])]:
        if not is_url(recorded) and not os.path.lexists(recorded):
            raise UserError(
                f"the run's input {recorded} (recorded in {ledger}/inputs.json) is not there; "
                "if it moved, pass its new place with --input"
            )
    return inputs, manifest


def _merge(report: VerifyReport, result: dict, on_finding: Callable | None) -> None:
    for values in result["findings"]:
        finding = Finding(*values)
        report.add(finding)
        if on_finding is not None:
            on_finding(finding)
    report.statuses.update(result.get("statuses", {}))
    report.outputs_checked += result.get("checked", 0)
    if "records" in result:
        report.ledger_records = result["records"]


def verify_run(
    input_paths: Iterable[str] | None,
    out_dir: str | os.PathLike,
    ledger_dir: str | os.PathLike,
    recipe: Recipe | str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    on_finding: Callable[[Finding], None] | None = None,
    pixels: str = "cleaned",
) -> VerifyReport:
    """Verify every input under ``input_paths`` against the ledger and the output tree.

    ``pixels``: ``cleaned`` re-reads by OCR the images Clean Pixel Data selected, ``all``
    every image (see :mod:`deid.verification.pixeltext`).

    ``input_paths`` empty or None: the inputs (and manifest) the run recorded in run.json.
    """
    from deid.pipeline.inputs import collect_inputs

    out = location(out_dir, "OUT")  # a folder, or an object-storage URL
    ledger = location(ledger_dir, "--ledger")
    if not (ledger / "files").is_dir():
        raise UserError(f"no ledger at {ledger} (expected {ledger / 'files'})")
    from deid.pipeline.ledger import require_intact

    require_intact(ledger)
    if not out.is_dir():
        raise UserError(f"output folder not found: {out}")
    if partition_size < 1:
        raise UserError("--partition-size must be at least 1")
    if workers is not None and workers < 1:
        raise UserError("--workers must be at least 1")
    if recipe is None:
        recipe = recipe_from_ledger(ledger)
    elif not isinstance(recipe, Recipe):
        from deid.recipe import load_recipe

        recipe = load_recipe(recipe)
    inputs, manifest = list(input_paths or []), None
    if not inputs:  # the run's own inputs, as run.json recorded them
        inputs, manifest = _run_inputs(ledger)
    paths = collect_inputs(inputs, manifest, prune=(out, ledger))
    setup = VerifySetup(pickle.dumps(recipe), str(out), str(ledger), pixels=pixels)
    report = VerifyReport(inputs=len(paths))
    chunks = [(i, paths[i : i + partition_size]) for i in range(0, len(paths), partition_size)]
    n_workers = workers or os.cpu_count() or 1
    if scheduler is None and n_workers == 1:
        setup = _with_index(setup, [index_partition(c, setup) for _, c in chunks], report)
        for start, chunk in chunks:
            _merge(report, verify_partition(chunk, setup, start), on_finding)
        _merge(report, verify_ledger(setup), on_finding)
        return report
    _run_distributed(chunks, setup, report, n_workers, scheduler, on_finding)
    return report


def _with_index(setup: VerifySetup, parts: list, report: VerifyReport) -> VerifySetup:
    """``setup`` with the run's cross-input index; a cut index is reported once."""
    index, cut = merge(parts)
    if cut:
        report.add(Finding(setup.ledger_dir, "inputs", "cross-index-full"))
    return dataclasses.replace(setup, cross_index=index.tobytes())


def _run_distributed(
    chunks: list[tuple[int, list[str]]],
    setup: VerifySetup,
    report: VerifyReport,
    n_workers: int,
    scheduler: str | None,
    on_finding: Callable | None,
) -> None:
    """Submit partitions a few at a time (bounded memory), merge results as they finish."""
    from distributed import as_completed

    from deid.pipeline.scheduler import dask_client

    with dask_client(scheduler, n_workers) as client:
        first = client.scatter(setup, broadcast=True)
        parts = client.gather(
            [client.submit(index_partition, c, first, pure=False) for _, c in chunks]
        )
        setup = _with_index(setup, parts, report)
        shared = client.scatter(setup, broadcast=True)
        pending = as_completed([client.submit(verify_ledger, shared, pure=False)])
        chunk_iter = iter(chunks)

        def submit_next() -> None:
            item = next(chunk_iter, None)
            if item is not None:
                start, chunk = item
                pending.add(client.submit(verify_partition, chunk, shared, start, pure=False))

        for _ in range(2 * n_workers + 2):
            submit_next()
        for future in pending:
            _merge(report, future.result(), on_finding)
            future.release()
            submit_next()
