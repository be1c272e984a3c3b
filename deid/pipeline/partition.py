"""Run one partition inside a Dask worker: skip it if done, else drive a child per file.

The task returns only a small summary (counts), never per-file results: the records go
straight into the partition's own ledger parts, written by the worker, so the client's
memory does not grow with the number of files.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from deid import __version__
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.destination import DESTINATION_FAILED, DestinationFailed, is_destination_error
from deid.pipeline.limits import Limits
from deid.pipeline.records import FileRecord
from deid.pipeline.supervise import Child, ChildFailed, new_child

__all__ = ["PROGRESS_TOPIC", "ChildFailed", "DestinationFailed", "RunSetup", "run_partition"]

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
    limits: Limits = field(default_factory=Limits)

    def child_setup(self) -> dict:
        return {
            "recipe": self.recipe_pickle,
            "keys": self.keys,
            "out_dir": self.out_dir,
            "verify": self.verify,
            "limits": self.limits,
        }

    def identity(self) -> tuple:
        """Setups with the same identity can share a child process."""
        return (
            self.recipe_digest,
            self.keys.fingerprint(),
            self.out_dir,
            self.verify,
            self.child_command,
            self.limits,
        )


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
        child = new_child(setup.child_setup(), setup.child_command)
        _local.child, _local.identity = child, identity
    return child


#: Files sent to a child ahead of the one it works on: it starts the next file the moment
#: it sends a record, instead of idling for a round trip through this thread (about a
#: tenth of a small file's time), and a worker thread that waits for a core (two children
#: and their workers on two cores) does not stall its child either.
PIPELINE_DEPTH = 4
#: A child that quietly exited while idle (:data:`deid.pipeline.child.IDLE_SECONDS`).
IDLE_EXIT = "worker child exited with status 0"


def _process_files(
    paths: list[str], index: int, setup: RunSetup, progress: _Progress, cross: bytes = b""
) -> list[FileRecord]:
    """Every path through this thread's child, in order, a few files in flight.

    The time limit is per file: the child works on its files one after another, so the
    clock for a file starts when the record before it arrives. A child that dies or
    overruns costs only the file it was working on; the files queued behind it were never
    started and go to its replacement. A child that had exited while idle before it saw
    its first file gets that file once more.
    """
    records: list[FileRecord] = []
    waiting = deque(paths)  # not yet sent
    in_flight: deque[str] = deque()  # sent to the current child, oldest first
    retried: set[str] = set()
    dead_on_arrival = 0
    child = None
    while waiting or in_flight:
        if child is None or not child.alive:  # not per file: it costs a waitpid
            child = _child_for(setup)
        while waiting and len(in_flight) < PIPELINE_DEPTH:
            sent = (
                child.submit(waiting[0], index, cross) if cross else child.submit(waiting[0], index)
            )
            if not sent:
                break
            in_flight.append(waiting.popleft())
        if not in_flight:  # the child was gone before it got anything: replace it
            child.kill()
            dead_on_arrival += 1
            if dead_on_arrival >= 3:
                # Not its stderr: a child that served earlier partitions may have printed
                # something about a file there, and this message reaches the terminal.
                raise ChildFailed("worker child keeps dying before it takes a file")
            continue
        outcome = child.result(setup.file_timeout)
        path = in_flight.popleft()
        if isinstance(outcome, str):
            waiting.extendleft(reversed(in_flight))
            in_flight.clear()
            if outcome == IDLE_EXIT and path not in retried:
                retried.add(path)
                waiting.appendleft(path)
                continue
            outcome = _failed_record(path, setup, index, outcome)
        if outcome.status == DESTINATION_FAILED:
            child.kill()  # it holds queued files of this partition: never reuse it
            raise DestinationFailed(outcome.reason)
        dead_on_arrival = 0
        records.append(outcome)
        progress.add(outcome)
    return records


def summarize_records(statuses: list[str]) -> dict:
    return dict(Counter(statuses))


def run_partition(index: int, content_hash: str, paths: list[str], setup: RunSetup) -> dict:
    """Process (or skip) one partition; returns ``{"index", "skipped", "status": {...}}``."""
    ledger = Path(setup.ledger_dir)
    if ledger_mod.partition_complete(ledger, index, content_hash, setup.verify, setup.limits):
        table = pq.read_table(ledger_mod.part_path(ledger, "files", index), columns=["status"])
        statuses = table.column("status").to_pylist()
        return {"index": index, "skipped": True, "status": summarize_records(statuses)}
    started = time.perf_counter()
    progress = _Progress(index)
    cross = b""
    if setup.verify:  # every output searched for the other inputs' identities too
        from deid.verification.crossindex import index_partition

        cross = index_partition(paths, setup).tobytes()
    records = _process_files(paths, index, setup, progress, cross)
    progress.flush()
    bound = ledger_mod.binding(setup.out_dir, setup.keys.fingerprint(), setup.verify, setup.limits)
    try:
        ledger_mod.write_partition(ledger, index, content_hash, records, bound)
    except OSError as error:
        if not is_destination_error(error):
            raise
        raise DestinationFailed(f"ledger {ledger}: {error.strerror}") from None
    return {
        "index": index,
        "skipped": False,
        "status": summarize_records([r.status for r in records]),
        "seconds": time.perf_counter() - started,
    }
