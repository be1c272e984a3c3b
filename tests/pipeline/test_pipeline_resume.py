"""kill -9 in the middle of a run: of the client (then the same command again), or of one
worker (the run heals itself). Either way: nothing lost, nothing twice, ledger consistent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from pipeline_builders import BASIC, deid_command, make_export, subprocess_env
from pipeline_helpers import ledger_rows, output_files


def _command(src: Path, out: Path, key_file: Path) -> list[str]:
    return [
        *deid_command(),
        "run",
        BASIC,
        str(src),
        "--out",
        str(out),
        "--key-file",
        str(key_file),
        "--workers",
        "2",
        "--partition-size",
        "3",
    ]


def _check_complete(inputs: list[str], out: Path, ledger: Path) -> None:
    rows = ledger_rows(ledger)
    assert sorted(r["input_path"] for r in rows) == inputs  # every input exactly once
    assert {r["status"] for r in rows} == {"written"}
    on_disk = output_files(out)
    assert sorted(out / r["output_path"] for r in rows) == on_disk  # no extra, no missing
    assert len({r["sop_instance_uid_out"] for r in rows}) == len(inputs)
    assert not [p for p in ledger.rglob("*") if p.name.endswith(".tmp")]
    run = json.loads((ledger / "run.json").read_text())
    assert run["state"] == "complete" and run["counts"]["written"] == len(inputs)


def _wait_for_parts(ledger: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((ledger / "files").glob("part-*.parquet"))) >= count:
            return
        time.sleep(0.02)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), cmdline))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_sigkill_then_rerun_completes_exactly_once(tmp_path: Path, key_file: Path, capsys) -> None:
    src = tmp_path / "in"
    make_export(src, patients=10, studies=2, images=5)  # 100 files, 34 partitions
    inputs = sorted(str(p) for p in src.rglob("*") if p.is_file())
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    command = _command(src, out, key_file)
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=subprocess_env(),
            start_new_session=True,
        )
        try:
            _wait_for_parts(ledger, 3, first)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)  # client, workers and children at once
            first.wait()
    done_before = len(list((ledger / "files").glob("part-*.parquet")))
    assert first.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 3 <= done_before < 34
    from pipeline_helpers import run_cli

    from deid.pipeline.summary import EXIT_INTERRUPTED

    # killed: run.json still says running, but nobody holds the ledger
    assert run_cli("report", ledger) == EXIT_INTERRUPTED
    report = capsys.readouterr().out
    assert f"incomplete: {len(ledger_rows(ledger))} of 100 planned files" in report
    assert "run state: interrupted (" in report and "rerun the same command" in report

    second = subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), timeout=300
    )
    assert second.returncode == 0, second.stderr
    _check_complete(inputs, out, ledger)


def test_a_worker_killed_mid_run_costs_nothing(tmp_path: Path, key_file: Path) -> None:
    """SIGKILL one Dask worker process: its partition is rescheduled and the run ends
    complete by itself (no rerun), every file once."""
    src = tmp_path / "in"
    make_export(src, patients=8, studies=2, images=5)  # 80 files
    inputs = sorted(str(p) for p in src.rglob("*") if p.is_file())
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    proc = subprocess.Popen(
        _command(src, out, key_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=subprocess_env(),
        start_new_session=True,
    )
    try:
        _wait_for_parts(ledger, 2, proc)
        # Local workers are forked by a forkserver, itself a child of the client.
        servers = [pid for pid, cmd in _children(proc.pid) if "forkserver" in cmd]
        workers = [pid for server in servers for pid, _ in _children(server)]
        assert workers, "no Dask worker process found"
        os.kill(workers[0], signal.SIGKILL)
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, output.decode(errors="replace")
    _check_complete(inputs, out, ledger)
