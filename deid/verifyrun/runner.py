"""Verify a whole run: partitions of input paths on Dask, the set-level checks in one task.

Same shape as ``deid run`` (:mod:`deid.pipeline.batch`), beside which it sits: the client
holds the sorted path list and counters; each partition task (:mod:`deid.verifyrun.tasks`)
reads its own ledger rows (only the parts whose path range overlaps), its inputs and its
outputs, and returns findings as small tuples and counts. One more task reads the whole
``files`` table for the set-level invariants (every input once, hierarchy). With one worker
and no scheduler everything runs in this process (no cluster start-up cost).

The set-level task also lists files in the output tree that no ledger row names
(``orphan-output``: another run's leftovers or an interrupted write's temp file), and
folders in it that cannot be listed (``unlistable-output``: what they hold is unchecked).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path

from deid.errors import UserError
from deid.pipeline.inputs import collect_inputs
from deid.pipeline.ledger import read_inputs_json, read_run_json, require_intact
from deid.pipeline.plan import DEFAULT_PARTITION_SIZE
from deid.pipeline.scheduler import bounded_completion, dask_client
from deid.recipe import load_recipe
from deid.recipe.model import Recipe
from deid.storage.locations import is_url
from deid.storage.remote import Where, location
from deid.verification.crossindex import index_partition, merge
from deid.verification.findings import Finding, VerifyReport
from deid.verifyrun.tasks import VerifySetup, verify_ledger, verify_partition


def recipe_from_ledger(ledger: Where) -> Recipe:
    """The recipe named in the ledger's run.json (the default for ``deid verify``)."""
    info = read_run_json(ledger) or {}
    path = info.get("recipe_path")
    if not path:
        raise UserError(f"{ledger}/run.json names no recipe; give --recipe")
    if not Path(path).is_file():
        raise UserError(f"the run's recipe {path} is gone; give --recipe")
    return load_recipe(path)


def _run_inputs(ledger: Where) -> tuple[list[str], str | None]:
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
    out = location(out_dir, "OUT")  # a folder, or an object-storage URL
    ledger = location(ledger_dir, "--ledger")
    if not (ledger / "files").is_dir():
        raise UserError(f"no ledger at {ledger} (expected {ledger / 'files'})")
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
        recipe = load_recipe(os.fspath(recipe))
    inputs, manifest = list(input_paths or []), None
    if not inputs:  # the run's own inputs, as run.json recorded them
        inputs, manifest = _run_inputs(ledger)
    paths = collect_inputs(inputs, manifest, prune=(str(out), str(ledger)))
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
    with dask_client(scheduler, n_workers) as client:
        first = client.scatter(setup, broadcast=True)
        parts = client.gather(
            [client.submit(index_partition, c, first, pure=False) for _, c in chunks]
        )
        setup = _with_index(setup, parts, report)
        shared = client.scatter(setup, broadcast=True)
        chunk_iter = iter(chunks)

        def submit_next():
            item = next(chunk_iter, None)
            if item is None:
                return None
            start, chunk = item
            return client.submit(verify_partition, chunk, shared, start, pure=False)

        ledger_task = [client.submit(verify_ledger, shared, pure=False)]
        for future in bounded_completion(submit_next, 2 * n_workers + 2, ledger_task):
            _merge(report, future.result(), on_finding)
