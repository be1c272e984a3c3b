"""A real S3 server for the storage tests: moto in server mode, started here on a free port
of 127.0.0.1 (not moto's in-process mocks: deid's workers are other processes, and what is
tested is the HTTP conversation an S3 client really has)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The synthetic exports of the pipeline tests (pipeline_builders) are reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from storage_helpers import S3, forget_filesystems, start_moto, stop, use_endpoint


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, endpoint = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield endpoint
    finally:
        stop(proc)


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    use_endpoint(monkeypatch, moto_endpoint)
    client = S3(moto_endpoint, prefix=uuid.uuid4().hex[:8])
    yield client
    forget_filesystems()
