"""``deid verify``: re-scan de-identified output for residual identifiers.

The public API the pipeline (``deid run --verify``) and the CLI use. The work lives in
:mod:`deid.verification`; this module only names it:

- :func:`identifying_values`: (kind, value) for every value of an original the effective
  recipe did not keep, after the documented short/generic filter
  (:mod:`deid.verification.values`).
- :func:`check_pair`: one original against its output bytes and output path: fast enough to
  run per file inside a pipeline worker.
- :func:`verify_run`: every input of a run against the ledger and the output tree, partitioned
  over Dask like the pipeline, plus the set-level invariants (every input in the ledger
  exactly once, references resolve, study/series/instance hierarchy preserved).

Findings name the output, the attribute path and the kind of value, never the value.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from deid.recipe.model import Recipe
from deid.verification.findings import Finding, VerifyReport
from deid.verification.scan import scan_output
from deid.verification.values import IdentifyingSet, gather, identifying_values


def check_pair(
    original: Dataset, output_bytes: bytes, output_relpath: str, recipe: Recipe
) -> list[Finding]:
    """Findings for one output: every identifying value of ``original`` found in it.

    ``original`` must be the dataset as read, before the engine rewrote it (the engine
    modifies its input in place): gather first with :func:`gather_identifying` and call
    :func:`check_gathered` when the same object is de-identified in between.
    """
    return scan_output(gather(original, recipe), output_bytes, output_relpath)


def gather_identifying(original: Dataset, recipe: Recipe) -> IdentifyingSet:
    """The needles of ``original``; take them before the engine modifies the dataset."""
    return gather(original, recipe)


def check_gathered(
    identifying: IdentifyingSet, output_bytes: bytes, output_relpath: str
) -> list[Finding]:
    """:func:`check_pair` with needles gathered earlier by :func:`gather_identifying`."""
    return scan_output(identifying, output_bytes, output_relpath)


def verify_run(
    input_paths,
    out_dir,
    ledger_dir,
    recipe=None,
    workers=None,
    **options,
) -> VerifyReport:
    """Verify a whole run; see :func:`deid.verification.run.verify_run`.

    ``recipe`` is a :class:`Recipe`, a recipe path, or None for the run's own (run.json).
    """
    from deid.verification.run import verify_run as _verify_run

    return _verify_run(input_paths, out_dir, ledger_dir, recipe, workers=workers, **options)


__all__ = [
    "Finding",
    "IdentifyingSet",
    "VerifyReport",
    "check_gathered",
    "check_pair",
    "gather_identifying",
    "identifying_values",
    "verify_run",
]
