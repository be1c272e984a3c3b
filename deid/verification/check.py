"""The per-file gate: one original against its output, as ``deid run --verify`` runs it.

What the pipeline's per-file step (and ``deid verify``'s partition tasks) call; the work
lives in the modules of :mod:`deid.verification`:

- :func:`identifying_values`: (kind, value) for every value of an original the effective
  recipe did not keep, after the documented short/generic filter
  (:mod:`deid.verification.values`).
- :func:`check_pair`: one original against its output bytes and output path: fast enough to
  run per file inside a pipeline worker.

A whole run (every input against the ledger and the output tree, partitioned over Dask,
plus the set-level invariants) is :func:`deid.verifyrun.runner.verify_run`, one layer up,
beside ``deid run``'s orchestration.

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


__all__ = [
    "Finding",
    "IdentifyingSet",
    "VerifyReport",
    "check_gathered",
    "check_pair",
    "gather_identifying",
    "identifying_values",
]
