"""Bucket to bucket on a real ``dask scheduler`` with two ``dask worker`` processes that share
nothing with the client but the S3 server: each has its own working and temp folder, and
none is given a path of the test's. The client joins through ``--scheduler-file``, as on an
HPC cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pipeline_builders import BASIC, make_export
from pipeline_helpers import run_cli
from storage_helpers import HEX_KEY, deid_env, local_files

REPO = Path(__file__).resolve().parents[2]


def _dask(args: list[str], log: Path, cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        ["dask", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )


@pytest.fixture
def s3_cluster(tmp_path_factory, s3):
    """Scheduler and two one-thread workers, each in its own folder with its own TMPDIR."""
    base = tmp_path_factory.mktemp("cluster")
    scheduler_file = base / "scheduler.json"
    procs = []
    try:
        env = deid_env(PYTHONPATH=str(REPO))
        procs.append(
            _dask(
                [
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                base / "scheduler.log",
                base,
                env,
            )
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert scheduler_file.exists(), (base / "scheduler.log").read_text()
        time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(2):
            home = base / f"worker{n}"
            (home / "tmp").mkdir(parents=True)
            worker_env = {**env, "TMPDIR": str(home / "tmp")}
            procs.append(
                _dask(
                    [
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
                        "--local-directory",
                        str(home / "tmp"),
                    ],
                    base / f"worker{n}.log",
                    home,
                    worker_env,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield scheduler_file, [base / "worker0", base / "worker1"]
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


def test_bucket_to_bucket_on_a_cluster_equals_local_run(tmp_path, s3, s3_cluster):
    scheduler_file, homes = s3_cluster
    src = tmp_path / "export"
    make_export(src, patients=2, images=4)
    bucket_in, bucket_out = s3.bucket("cin"), s3.bucket("cout")
    s3.upload(src, f"{bucket_in}/export")
    # The key lives in the bucket too: the workers never see a file of the client's.
    key_url = f"{bucket_out}/secret.key"
    s3.fs.pipe_file(key_url.removeprefix("s3://"), (HEX_KEY + "\n").encode())
    code = run_cli(
        "run", BASIC, f"{bucket_in}/export", "--out", f"{bucket_out}/deid",
        "--key-file", key_url, "--scheduler-file", scheduler_file, "--partition-size", 2,
    )  # fmt: skip
    assert code == 0
    key_file = tmp_path / "secret.key"
    key_file.write_text(HEX_KEY + "\n")
    local_out = tmp_path / "local"
    assert run_cli("run", BASIC, src, "--out", local_out, "--key-file", key_file) == 0
    remote = s3.objects(f"{bucket_out}/deid")
    assert len(remote) == 8
    assert remote == local_files(local_out)
    # Both workers did partitions; neither wrote anything into its own folder but logs.
    logs = [(h.parent / f"{h.name}.log").read_text() for h in homes]
    assert all("Traceback" not in log for log in logs)
    for home in homes:
        left = [p for p in home.rglob("*") if p.is_file() and "dask-scratch" not in str(p)]
        assert not [p for p in left if p.suffix in (".dcm", ".parquet")], left


def test_scheduler_file_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "in"
    make_export(src, patients=1, images=1)
    missing = tmp_path / "nope.json"
    code = run_cli("run", BASIC, src, "--out", tmp_path / "o", "--scheduler-file", missing)
    assert code == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert run_cli("run", BASIC, src, "--out", tmp_path / "o", "--scheduler-file", bad) == 2
    assert "no address" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert run_cli("verify", tmp_path / "o", "--scheduler-file", missing) == 2
    assert "no such file" in capsys.readouterr().err
