"""Reruns say what they did and keep the record: "N partition(s) already done, skipped; M to
do (why)", every run's start, end, options and counts in run.json's history, options that
changed handled explicitly; and usage errors come before any Dask process starts."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipeline_builders import BASIC, make_image, save
from pipeline_helpers import output_files, run_cli

from deid.pipeline.batch import RunOptions, run
from deid.pipeline.plan import MIN_DEFAULT_PARTITION_SIZE


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for i in range(4):
        save(make_image(patient_id=f"P{i}"), root / f"im{i}")
    return root


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("deid: ")]


def _mtimes(out: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in output_files(out)}


def test_rerun_says_what_is_skipped_and_why_the_rest_is_done(src, tmp_path, key_file, capsys):
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    first = ("run", BASIC, src, "--out", out, "--key-file", key_file, "--workers", 1)
    assert run_cli(*first, "--partition-size", 2) == 0
    assert not any("already done" in line for line in _lines(capsys.readouterr().err))
    before = _mtimes(out)

    # --partition-size dropped: the ledger's size is kept, nothing is redone.
    assert run_cli(*first) == 0
    err = capsys.readouterr().err
    assert (
        "deid: all 2 partition(s) already done, skipped; nothing to do; "
        "--partition-size 2 as the ledger's earlier runs"
    ) in _lines(err)
    assert "files/s" not in err  # no rate for a run that did nothing
    assert _mtimes(out) == before

    # One partition lost: exactly that one is redone, and the line says why (--dry-run too).
    (ledger / "files" / "part-000001.parquet").unlink()
    assert run_cli(*first, "--dry-run") == 0
    assert "; 1 partition(s) already done; 1 to do (1 not started); " in capsys.readouterr().err
    assert run_cli(*first) == 0
    lines = _lines(capsys.readouterr().err)
    assert "deid: 1 partition(s) already done, skipped; 1 to do (1 not started); " in lines[0]
    assert any(line.startswith("deid: this run: 2 file(s) of 1 partition(s) in ") for line in lines)

    # --verify added: the parts written without it are redone, and the line says so.
    assert run_cli(*first, "--verify") == 0
    assert _lines(capsys.readouterr().err)[0].startswith(
        "deid: 0 partition(s) already done, skipped; 2 to do (2 done without --verify)"
    )
    # ... and dropped again: verified parts count as done.
    assert run_cli(*first) == 0
    assert _lines(capsys.readouterr().err)[0].startswith("deid: all 2 partition(s) already done")

    # An explicit, different size is said out loud, not silently a full redo.
    assert run_cli(*first, "--partition-size", 3) == 0
    assert "differs from the 2 the ledger's partitions were cut with" in capsys.readouterr().err

    run_json = json.loads((ledger / "run.json").read_text())
    history = run_json["history"]
    assert [h["state"] for h in history] == ["complete"] * 6
    assert run_json["started"] == history[0]["started"]  # the first run's start is kept
    assert [h["partitions_skipped"] for h in history] == [0, 2, 1, 0, 2, 0]
    assert [h["files_processed"] for h in history] == [4, 0, 2, 4, 0, 4]
    assert [h["options"]["verify"] for h in history] == [False, False, False, True, False, False]
    assert [h["options"]["partition_size"] for h in history] == [2, 2, 2, 2, 2, 3]
    assert all(h["finished"] >= h["started"] and h["seconds"] > 0 for h in history)
    assert all(h["counts"]["written"] == 4 for h in history)
    assert run_json["seconds"] == pytest.approx(sum(h["seconds"] for h in history), abs=0.01)


def test_printed_duration_includes_start_up(src, tmp_path, key_file) -> None:
    options = RunOptions(
        recipe=BASIC,
        inputs=[str(src)],
        out=str(tmp_path / "out"),
        key_file=str(key_file),
        workers=1,
        started=time.monotonic() - 100,  # as if the command had started 100 s ago
    )
    result = run(options)
    assert result.exit_code == 0 and result.seconds >= 100
    run_json = json.loads((tmp_path / "out.ledger" / "run.json").read_text())
    assert run_json["history"][0]["seconds"] >= 100
    assert options.partition_size is None and run_json["options"]["partition_size"] == (
        MIN_DEFAULT_PARTITION_SIZE
    )


def test_default_size_balances_workers_and_a_rerun_keeps_it(tmp_path, key_file, capsys):
    """Without --partition-size, 240 files on 2 workers are cut into partitions of 50 (not
    one of 500 that would leave a worker idle); a rerun on 1 worker, whose own default would
    be 60, keeps the ledger's 50, says so, and redoes nothing."""
    root = tmp_path / "in"
    for i in range(240):
        save(make_image(patient_id=f"P{i % 3}"), root / f"im{i:03d}")
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    first = ("run", BASIC, root, "--out", out, "--key-file", key_file)
    assert run_cli(*first, "--workers", 2) == 0
    run_json = json.loads((ledger / "run.json").read_text())
    assert run_json["options"]["partition_size"] == 50
    assert len(list((ledger / "files").glob("part-*.parquet"))) == 5
    capsys.readouterr()
    assert run_cli(*first, "--workers", 1) == 0
    assert (
        "deid: all 5 partition(s) already done, skipped; nothing to do; "
        "--partition-size 50 as the ledger's earlier runs"
    ) in _lines(capsys.readouterr().err)


PROBE = """
import sys
from deid.cli import main
code = main(sys.argv[1:])
started = sorted(m for m in ("distributed", "dask") if m in sys.modules)
print(code, ",".join(started) or "-")
"""


@pytest.mark.parametrize(
    "case",
    [
        "missing-input",
        "bad-recipe",
        "weak-key",
        "output-in-input",
        "other-ledger-output",
        "ledger-in-use",
    ],
)
def test_usage_errors_come_before_dask_is_even_imported(src, tmp_path, key_file, case) -> None:
    """Start-up of Dask took 6-8 s before a usage error could be printed; now every check
    runs first (the time is measured by hand, see the session note; tests are not timed)."""
    weak = tmp_path / "weak.key"
    weak.write_text("x\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("deid-recipe: 1\nextends: nosuch\n")
    args = {
        "missing-input": ("run", BASIC, tmp_path / "nope", "--out", tmp_path / "o"),
        "bad-recipe": ("run", bad, src, "--out", tmp_path / "o"),
        "weak-key": ("run", BASIC, src, "--out", tmp_path / "o", "--key-file", weak),
        "output-in-input": ("run", BASIC, src, "--out", src / "o"),
        "other-ledger-output": (),
        "ledger-in-use": ("run", BASIC, src, "--out", tmp_path / "o", "--key-file", key_file),
    }[case]
    held = None
    if case == "ledger-in-use":  # another run holds the ledger's lock
        (tmp_path / "o.ledger").mkdir(mode=0o700)
        held = os.open(tmp_path / "o.ledger" / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(held, fcntl.LOCK_EX)
    if case == "other-ledger-output":
        assert run_cli("run", BASIC, src, "--out", tmp_path / "a", "--key-file", key_file) == 0
        ledger = tmp_path / "a.ledger"
        args = (
            "run",
            BASIC,
            src,
            "--out",
            tmp_path / "b",
            "--ledger",
            ledger,
            "--key-file",
            key_file,
        )
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if held is not None:
            os.close(held)
    assert done.stdout.split() == ["2", "-"], (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("deid: ")
