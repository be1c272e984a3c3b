"""``deid run --scheduler`` against real ``dask scheduler`` / ``dask worker`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pipeline_builders import BASIC, make_export, subprocess_env
from pipeline_helpers import ledger_rows, output_files, run_cli


def _dask(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["dask", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=subprocess_env(),
        start_new_session=True,
    )


@pytest.fixture
def cluster(tmp_path: Path):
    """A scheduler on a free port of 127.0.0.1 and two one-thread workers; torn down after."""
    scheduler_file = tmp_path / "scheduler.json"
    procs = [
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            log=tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        time.sleep(0.2)  # the file is written in one go, but be patient with slow disks
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(2):
            procs.append(
                _dask(
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--name",
                    f"w{n}",
                    log=tmp_path / f"worker{n}.log",
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_scheduler_run_equals_local_run_byte_for_byte(tmp_path, key_file, cluster):
    src = tmp_path / "in"
    make_export(src, patients=2, images=3)
    common = ("--key-file", key_file, "--partition-size", 2)
    assert (
        run_cli("run", BASIC, src, "--out", tmp_path / "remote", "--scheduler", cluster, *common)
        == 0
    )
    assert run_cli("run", BASIC, src, "--out", tmp_path / "local", "--workers", 1, *common) == 0
    remote = output_files(tmp_path / "remote")
    local = output_files(tmp_path / "local")
    assert len(remote) == 6
    assert [p.relative_to(tmp_path / "remote") for p in remote] == [
        p.relative_to(tmp_path / "local") for p in local
    ]
    for a, b in zip(remote, local):
        assert a.read_bytes() == b.read_bytes()
    rows = ledger_rows(tmp_path / "remote.ledger")
    assert sorted(r["partition"] for r in rows) == [0, 0, 1, 1, 2, 2]
