"""``deid run`` with object storage in and out, against a real S3 server (moto, server mode):
bucket to bucket, mixed, resumed after kill -9, through a throttling server, with an object
deleted between listing and reading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pipeline_builders import BASIC, make_export
from pipeline_helpers import run_cli
from storage_helpers import HEX_KEY, FlakyProxy, deid_env, local_files, use_endpoint


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text(HEX_KEY + "\n")
    return path


def _local_run(tmp_path: Path, src: Path, key_file: Path, name: str = "local") -> dict:
    out = tmp_path / name
    assert run_cli("run", BASIC, src, "--out", out, "--key-file", key_file, "--workers", 1) == 0
    return local_files(out)


def _ledger_rows(s3, ledger_url: str) -> list[dict]:
    rows = []
    base = ledger_url.removeprefix("s3://")
    for name in sorted(s3.fs.find(f"{base}/files")):
        with s3.fs.open(name, "rb") as handle:
            rows.extend(pq.read_table(handle).to_pylist())
    return rows


def test_bucket_to_bucket_equals_local_run(tmp_path, s3, key_file):
    src = tmp_path / "export"
    make_export(src, patients=2, images=3)
    bucket_in, bucket_out = s3.bucket("in"), s3.bucket("out")
    s3.upload(src, f"{bucket_in}/export")
    code = run_cli(
        "run", BASIC, f"{bucket_in}/export", "--out", f"{bucket_out}/deid",
        "--key-file", key_file, "--workers", 1, "--partition-size", 4,
    )  # fmt: skip
    assert code == 0
    assert s3.objects(f"{bucket_out}/deid") == _local_run(tmp_path, src, key_file)
    ledger = f"{bucket_out}/deid.ledger"
    assert sorted(s3.keys(ledger)) == [
        "files/part-000000.parquet",
        "files/part-000001.parquet",
        "inputs.json",
        "run.json",
        "uids/part-000000.parquet",
        "uids/part-000001.parquet",
    ]
    rows = _ledger_rows(s3, ledger)
    assert sorted(r["input_path"] for r in rows) == sorted(
        f"{bucket_in}/export/{k}" for k in s3.keys(f"{bucket_in}/export")
    )
    assert {r["status"] for r in rows} == {"written"}
    # Credentials are nowhere in the ledger.
    for body in s3.objects(ledger).values():
        assert b"testing-secret" not in body


def test_local_input_to_s3_and_s3_input_to_local(tmp_path, s3, key_file):
    src = tmp_path / "export"
    make_export(src, patients=2, images=2)
    expected = _local_run(tmp_path, src, key_file)
    bucket = s3.bucket("mixed")
    code = run_cli("run", BASIC, src, "--out", f"{bucket}/out", "--key-file", key_file)
    assert code == 0
    assert s3.objects(f"{bucket}/out") == expected
    s3.upload(src, f"{bucket}/export")
    local_out = tmp_path / "from-s3"
    code = run_cli("run", BASIC, f"{bucket}/export", "--out", local_out, "--key-file", key_file)
    assert code == 0
    assert local_files(local_out) == expected
    assert (tmp_path / "from-s3.ledger" / "files").is_dir()


def test_manifest_in_a_bucket_and_object_deleted_after_listing(tmp_path, s3, key_file, capsys):
    """The client lists, the object vanishes, the worker finds it gone: quarantined with
    its reason, every other input written, exit 1."""
    src = tmp_path / "export"
    make_export(src, patients=1, images=3)
    bucket = s3.bucket("gone")
    s3.upload(src, f"{bucket}/export")
    from deid.pipeline.inputs import collect_inputs

    listed = collect_inputs([f"{bucket}/export"])
    assert len(listed) == 3
    s3.fs.pipe_file(f"{bucket.removeprefix('s3://')}/manifest.txt", "\n".join(listed).encode())
    s3.fs.rm_file(listed[1].removeprefix("s3://"))
    code = run_cli(
        "run", BASIC, "--manifest", f"{bucket}/manifest.txt", "--out", f"{bucket}/out",
        "--key-file", key_file,
    )  # fmt: skip
    assert code == 1
    rows = {r["input_path"]: r for r in _ledger_rows(s3, f"{bucket}/out.ledger")}
    assert set(rows) == set(listed)
    assert rows[listed[1]]["status"] == "quarantined"
    assert rows[listed[1]]["reason"] == "input not found: the object is missing or was deleted"
    assert [rows[u]["status"] for u in (listed[0], listed[2])] == ["written", "written"]
    assert len(s3.keys(f"{bucket}/out")) == 2


def test_throttling_server_is_retried(tmp_path, s3, key_file, monkeypatch, moto_endpoint):
    """Every third request answered 503 SlowDown: the run still writes every file once."""
    src = tmp_path / "export"
    make_export(src, patients=2, images=2)
    bucket = s3.bucket("flaky")
    s3.upload(src, f"{bucket}/export")
    proxy = FlakyProxy(moto_endpoint, every=3)
    try:
        use_endpoint(monkeypatch, proxy.endpoint)
        code = run_cli(
            "run", BASIC, f"{bucket}/export", "--out", f"{bucket}/out", "--key-file", key_file,
            "--partition-size", 2,
        )  # fmt: skip
        refused = proxy.refused
    finally:
        proxy.close()
    assert code == 0
    assert refused >= 5  # the server really did refuse, many times
    assert s3.objects(f"{bucket}/out") == _local_run(tmp_path, src, key_file)
    rows = _ledger_rows(s3, f"{bucket}/out.ledger")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"written"}


@pytest.mark.slow
def test_kill_9_then_rerun_gives_every_input_once(tmp_path, s3, key_file):
    src = tmp_path / "export"
    make_export(src, patients=4, images=4)
    bucket = s3.bucket("kill")
    s3.upload(src, f"{bucket}/export")
    command = [
        sys.executable, "-m", "deid", "run", BASIC, f"{bucket}/export", "--out",
        f"{bucket}/out", "--key-file", str(key_file), "--partition-size", "1", "--workers", "1",
    ]  # fmt: skip
    env = deid_env(PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        command, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"{bucket.removeprefix('s3://')}/out.ledger/files"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(s3.fs.find(base)) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(s3.fs.find(base))
    assert 3 <= done_before < 16
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "already done, skipped" in rerun.stderr
    rows = _ledger_rows(s3, f"{bucket}/out.ledger")
    inputs = sorted(f"{bucket}/export/{k}" for k in s3.keys(f"{bucket}/export"))
    assert sorted(r["input_path"] for r in rows) == inputs  # each exactly once
    assert {r["status"] for r in rows} == {"written"}
    assert s3.objects(f"{bucket}/out") == _local_run(tmp_path, src, key_file)
