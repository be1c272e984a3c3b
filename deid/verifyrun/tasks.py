"""The tasks of a verify run: one partition of inputs, and the set-level ledger task.

Per written file: the needles of the original are searched in the output (see
:mod:`deid.verification.scan`); the output's UIDs must match its ledger row; and every
reference (Referenced SOP Instance UID anywhere, nested Series/Study Instance UIDs) whose
target was written from the input set must, at the same attribute path in the output, name
a UID that exists in the output set (``dangling-reference`` otherwise). A path the recipe
removed is not a dangling reference. Each task returns small tuples and counts, so the
client (:mod:`deid.verifyrun.runner`) merges them without holding datasets.
"""

from __future__ import annotations

import pickle
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydicom.dataset import Dataset

from deid.dicom.sop import sop_instance_uid, uid_text
from deid.pipeline.ledger import ledger_text
from deid.reading import parse, read_input
from deid.recipe.model import Recipe
from deid.storage.remote import Where, location
from deid.verification.crossindex import CrossIndex
from deid.verification.findings import Finding, input_number
from deid.verification.pixeltext import pixel_findings
from deid.verification.scan import read_output, scan_dataset
from deid.verification.values import gather
from deid.verification.walk import walk
from deid.verifyrun.invariants import (
    ledger_findings,
    ledger_signature,
    orphan_outputs,
    read_files_table,
    rows_for,
    written_uid_sets,
)

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
    out_dir: Where,
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
        actual = uid_text(out_ds.get(keyword))
        if actual != (row.get(f"{level}_instance_uid_out") or ""):
            findings.append(Finding(relpath, keyword, "ledger-mismatch"))
        # no SOP Instance UID in the body: the file meta names it
        source = sop_instance_uid(original) if level == "sop" else uid_text(original.get(keyword))
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
