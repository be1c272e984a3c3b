"""Run one partition inside a Dask worker: skip it if done, else drive a child per file.

The task returns only a small summary (counts), never per-file results: the records go
straight into the partition's own ledger parts, written by the worker, so the client's
memory does not grow with the number of files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from deid import __version__
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.records import FileRecord

#: How long a fresh child may take to import everything and say "ready".
STARTUP_TIMEOUT = 120.0
PROGRESS_TOPIC = "deid-progress"


@dataclass(frozen=True)
class RunSetup:
    """What every partition of a run shares; scattered once to the workers."""

    recipe_pickle: bytes
    recipe_digest: str
    keys: Any  # deid.rewrite.keys.KeyRing: sub-keys only, never the raw secret
    out_dir: str
    ledger_dir: str
    verify: bool
    file_timeout: float
    #: The child's command line; None = ``python -m deid.pipeline.child``.
    child_command: tuple[str, ...] | None = None

    def child_setup(self) -> dict:
        return {
            "recipe": self.recipe_pickle,
            "keys": self.keys,
            "out_dir": self.out_dir,
            "verify": self.verify,
        }

    def identity(self) -> tuple:
        """Setups with the same identity can share a child process."""
        return (
            self.recipe_digest,
            self.keys.fingerprint(),
            self.out_dir,
            self.verify,
            self.child_command,
        )


class ChildFailed(RuntimeError):
    """The child process could not start: an installation problem, not a bad file."""


class Child:
    """One ``python -m deid.pipeline.child`` process and its two pipes."""

    def __init__(self, setup: dict, command: tuple[str, ...] | None = None) -> None:
        self.alive = True
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            list(command or (sys.executable, "-m", "deid.pipeline.child")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            close_fds=True,
        )
        self.send = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        try:
            self.send.send(setup)
            message = self._receive(STARTUP_TIMEOUT)
        except (OSError, EOFError):
            message = None
        if message != ("ready",):
            detail = self.stderr_tail()
            self.kill()
            raise ChildFailed(f"worker child did not start: {detail or 'no message'}")

    def _receive(self, timeout: float):
        if not self.recv.poll(timeout):
            raise TimeoutError
        return self.recv.recv()

    def process(self, path: str, partition: int, timeout: float) -> FileRecord | str:
        """The record, or a one-line reason why the child produced none (then it is dead)."""
        try:
            self.send.send(("file", path, partition))
            message = self._receive(timeout)
            if message[0] == "done":
                return message[1]
            reason = "worker child sent an unexpected message"
        except TimeoutError:
            reason = f"timeout: no result within {timeout:g} s"
        except (EOFError, OSError):
            reason = self._death_reason()
        self.kill()
        return reason

    def _death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "worker child stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"worker child killed by {signal.Signals(-code).name}"
        return f"worker child exited with status {code}"

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError):
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:200] if lines else ""
        return ""

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.send.send(("stop",))
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self._release()

    def kill(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._release()

    def _release(self) -> None:
        for conn in (self.send, self.recv):
            with contextlib.suppress(OSError):
                conn.close()
        with contextlib.suppress(OSError):
            self.stderr.close()


def _failed_record(path: str, setup: RunSetup, partition: int, reason: str) -> FileRecord:
    return FileRecord(
        input_path=path,
        status="quarantined",
        reason=reason,
        recipe_digest=setup.recipe_digest,
        deid_version=__version__,
        partition=partition,
    )


class _Progress:
    """Progress events to the client (Dask's event log), at most a few per second."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.last = 0.0
        self.files = 0
        self.quarantined = 0
        try:
            from distributed import get_worker

            self.worker = get_worker()
        except (ImportError, ValueError):
            self.worker = None

    def add(self, record: FileRecord) -> None:
        self.files += 1
        self.quarantined += record.status == "quarantined"
        now = time.monotonic()
        if self.worker is not None and (now - self.last > 0.5):
            self.flush()

    def flush(self) -> None:
        if self.worker is not None and self.files:
            with contextlib.suppress(Exception):
                self.worker.log_event(
                    PROGRESS_TOPIC,
                    {"files": self.files, "quarantined": self.quarantined},
                )
            self.files = self.quarantined = 0
            self.last = time.monotonic()


_local = threading.local()


def _child_for(setup: RunSetup) -> Child:
    """This thread's child for ``setup``, started (or replaced) as needed."""
    child: Child | None = getattr(_local, "child", None)
    identity = setup.identity()
    if child is not None and (
        not child.alive or child.proc.poll() is not None or _local.identity != identity
    ):
        if child.alive:
            child.close()
        child = None
    if child is None:
        child = Child(setup.child_setup(), setup.child_command)
        _local.child, _local.identity = child, identity
    return child


def _process_one(path: str, index: int, setup: RunSetup) -> FileRecord | str:
    """One file through this thread's child; a child that had quietly exited (idle) before
    it saw the file is replaced and the file tried once more."""
    for attempt in (1, 2):
        child = _child_for(setup)
        outcome = child.process(path, index, setup.file_timeout)
        if outcome != "worker child exited with status 0" or attempt == 2:
            return outcome
    return outcome  # pragma: no cover


def summarize_records(statuses: list[str]) -> dict:
    return dict(Counter(statuses))


def run_partition(index: int, content_hash: str, paths: list[str], setup: RunSetup) -> dict:
    """Process (or skip) one partition; returns ``{"index", "skipped", "status": {...}}``."""
    ledger = Path(setup.ledger_dir)
    if ledger_mod.partition_complete(ledger, index, content_hash):
        table = pq.read_table(ledger_mod.part_path(ledger, "files", index), columns=["status"])
        statuses = table.column("status").to_pylist()
        return {"index": index, "skipped": True, "status": summarize_records(statuses)}
    started = time.perf_counter()
    progress = _Progress(index)
    records: list[FileRecord] = []
    for path in paths:
        outcome = _process_one(path, index, setup)
        if isinstance(outcome, str):
            outcome = _failed_record(path, setup, index, outcome)
        records.append(outcome)
        progress.add(outcome)
    progress.flush()
    ledger_mod.write_partition(ledger, index, content_hash, records)
    return {
        "index": index,
        "skipped": False,
        "status": summarize_records([r.status for r in records]),
        "seconds": time.perf_counter() - started,
    }
