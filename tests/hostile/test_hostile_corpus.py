"""Hostile inputs: per file through the engine, then all together through ``deid run``.

Each is refused, quarantined with a one-line reason, or written correctly (reads back, no
identity left); none hangs, none crashes a worker, none costs another file its output.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from hostile_corpus import PATIENT_ID, PATIENT_NAME, base_dataset, build_cases, encode
from hostile_engine import run_one

from deid.cli import main
from deid.resources import recipes_dir
from deid.verifyrun.runner import verify_run

CASES = {case.name: case for case in build_cases()}


def test_corpus_is_what_it_says():
    assert len(CASES) >= 30
    assert len(CASES["four-gigabyte-claim"].data) <= 1024
    assert CASES["empty"].data == b""
    must = {name for name, case in CASES.items() if case.must_write}
    assert must == {"big-endian", "implicit-vr", "deflated", "no-preamble-no-meta"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_engine_per_file(name, hostile_recipe, hostile_keys):
    case = CASES[name]
    outcome = run_one(case.data, hostile_recipe, hostile_keys)
    if case.must_write:
        assert outcome.status == "written", outcome.error
    if outcome.status == "written":
        assert outcome.findings == (), [f.line() for f in outcome.findings]
        assert outcome.output[128:132] == b"DICM"
    if outcome.status == "error":
        reason = f"{type(outcome.error).__name__}: {outcome.error}"
        assert PATIENT_NAME not in reason and PATIENT_ID not in reason


def test_nested_50_levels_keep_structure(hostile_recipe, hostile_keys):
    outcome = run_one(CASES["nested-50-undefined"].data, hostile_recipe, hostile_keys)
    assert outcome.status == "written"
    from io import BytesIO

    ds = pydicom.dcmread(BytesIO(outcome.output))
    depth = 0
    level = ds
    while "ContentSequence" in level and level.ContentSequence:
        level = level.ContentSequence[0]
        depth += 1
    # Content Sequence is X/Z under the Basic Profile: removed whole, or kept and cleaned
    assert depth in (0, 50)


def _ledger_rows(ledger: Path) -> list[dict]:
    rows = []
    for part in sorted((ledger / "files").glob("part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    return rows


def test_batch_through_deid_run(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, case in CASES.items():
        (inputs / name).write_bytes(case.data)
    good = {"good-1.dcm": encode(base_dataset(501)), "good-2.dcm": encode(base_dataset(502))}
    for name, data in good.items():
        (inputs / name).write_bytes(data)
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    key = tmp_path / "key"
    key.write_text("cd" * 32)
    code = main(
        ["run", str(recipes_dir() / "basic.yaml"), str(inputs), "--out", str(out),
         "--key-file", str(key), "--workers", "1", "--file-timeout", "60",
         "--partition-size", "10"]
    )  # fmt: skip
    assert code == 1  # some quarantined, the batch completed
    rows = _ledger_rows(ledger)
    by_name = {}
    for row in rows:
        by_name.setdefault(Path(row["input_path"]).name, []).append(row)
    assert sorted(by_name) == sorted([*CASES, *good])
    assert all(len(v) == 1 for v in by_name.values()), "every input exactly once"
    for name in good:
        assert by_name[name][0]["status"] == "written"
    for name, case in CASES.items():
        row = by_name[name][0]
        if case.must_write:
            assert row["status"] == "written", (name, row["reason"])
        if row["status"] == "quarantined":
            reason = row["reason"]
            assert reason and "\n" not in reason, name
            assert PATIENT_NAME not in reason and PATIENT_ID not in reason
        else:  # damaged copies of one valid file share its SOP Instance UID
            assert row["status"] in ("written", "duplicate"), (name, row["status"])
            if row["status"] == "written":
                pydicom.dcmread(out / row["output_path"])
    report = verify_run([str(inputs)], out, ledger, workers=1)
    assert report.clean, [f.line() for f in report.findings]
    assert report.inputs == len(CASES) + len(good)
