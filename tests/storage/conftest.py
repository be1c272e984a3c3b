"""A real S3 server for the storage tests: moto in server mode, started here on a free port
of 127.0.0.1 (not moto's in-process mocks: deid's workers are other processes, and what is
tested is the HTTP conversation an S3 client really has)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The synthetic exports of the pipeline tests (pipeline_builders) are reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from storage_helpers import S3, free_port


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not listen: {log.read_text()[-2000:]}")


def start_moto(folder: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = folder / f"moto-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    _wait_for_port(port, proc, log)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, endpoint = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield endpoint
    finally:
        stop(proc)


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """The process environment every S3 client (this one, local workers) takes its
    credentials and endpoint from, as a user's would; deid's cached filesystems forgotten."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "DEID_KEY"):
        monkeypatch.delenv(name, raising=False)
    forget_filesystems()


def forget_filesystems() -> None:
    import s3fs

    from deid.storage import filesystems

    filesystems.configure({})
    filesystems._filesystem_cache.clear()
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    use_endpoint(monkeypatch, moto_endpoint)
    client = S3(moto_endpoint, prefix=uuid.uuid4().hex[:8])
    yield client
    forget_filesystems()
