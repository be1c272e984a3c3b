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
from typing import Any

from deid import __version__
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.destination import DESTINATION_FAILED, DestinationFailed, is_destination_error
from deid.pipeline.limits import Limits
from deid.pipeline.per_file import PENDING_WRITE, write_outcome, write_unique
from deid.pipeline.records import FileRecord
from deid.pipeline.supervise import Child, ChildFailed, new_child
from deid.storage.filesystems import configure
from deid.storage.parquet import read_table
from deid.storage.remote import location
from deid.verification.crossindex import merge

__all__ = ["PROGRESS_TOPIC", "ChildFailed", "DestinationFailed", "RunSetup", "run_partition"]

PROGRESS_TOPIC = "deid-progress"


@dataclass(frozen=True)
class RunSetup:
    """What every partition of a run shares; scattered once to the workers."""

    recipe_pickle: bytes
    recipe_digest: str
    keys: Any  # deid.rewrite.keyring.KeyRing: sub-keys only, never the raw secret
    out_dir: str
    ledger_dir: str
    verify: bool
    file_timeout: float
    #: The child's command line; None = ``python -m deid.pipeline.child``.
    child_command: tuple[str, ...] | None = None
    limits: Limits = field(default_factory=Limits)
    #: ``--storage-options`` (may hold secrets: kept in memory, never written or shown).
    storage_options: dict | None = field(default=None, repr=False)
    #: deid.pipeline.pacs_partition.PacsSetup when the INPUT or the output is a PACS, else None.
    pacs: Any = None
    #: A local cluster's workers: the client's credential variables (in memory only).
    storage_env: dict | None = field(default=None, repr=False)

    def child_setup(self) -> dict:
        return {
            "recipe": self.recipe_pickle,
            "keys": self.keys,
            "out_dir": self.out_dir,
            "verify": self.verify,
            "limits": self.limits,
            "storage_options": self.storage_options,
            "storage_env": self.storage_env,
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
            repr(sorted((self.storage_options or {}).items())),
            repr(sorted((self.storage_env or {}).items())),
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

            self.worker: Any = get_worker()
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
    its first file gets that file once more. An object output comes back from the child
    and is PUT from here (:class:`_Writes`) while the child works on the next files; a
    child that dies later cannot take a file that was already recorded down with it.
    """
    records: list[FileRecord] = []
    writes = _Writes(setup, progress)
    try:
        _drive_child(paths, index, setup, progress, records, writes, cross)
    finally:
        writes.finish()
    for record in records:
        if record.status == DESTINATION_FAILED:
            raise DestinationFailed(record.reason)
    return records


#: Object outputs being PUT at once per partition (each holds one output in memory).
WRITES_IN_FLIGHT = 4


class _Writes:
    """The PUTs of a partition's object outputs, done here while the child works on the
    next files; a record counts (progress, ledger) only once its PUT was answered."""

    def __init__(self, setup: RunSetup, progress: _Progress) -> None:
        self.setup = setup
        self.progress = progress
        self.pending: deque = deque()
        self.pool: Any = None  # a ThreadPoolExecutor once the first object is put

    def submit(self, record: FileRecord) -> None:
        from concurrent.futures import ThreadPoolExecutor

        relpath, data = record.deferred_output  # type: ignore[attr-defined]
        del record.deferred_output  # type: ignore[attr-defined]
        if self.pool is None:
            self.pool = ThreadPoolExecutor(WRITES_IN_FLIGHT, thread_name_prefix="deid-put")
        pool = self.pool
        out_dir = location(self.setup.out_dir)
        self.pending.append((record, pool.submit(write_unique, out_dir / relpath, data)))
        while len(self.pending) > WRITES_IN_FLIGHT:
            self._settle_oldest()

    def _settle_oldest(self) -> None:
        record, future = self.pending.popleft()
        try:
            unique, error = future.result(), None
        except Exception as failure:
            unique, error = None, failure
        write_outcome(record, self.setup.out_dir, unique, error)
        self.progress.add(record)

    def finish(self) -> None:
        while self.pending:
            self._settle_oldest()
        if self.pool is not None:
            self.pool.shutdown()


def _drive_child(
    paths: list[str],
    index: int,
    setup: RunSetup,
    progress: _Progress,
    records: list[FileRecord],
    writes: _Writes,
    cross: bytes = b"",
) -> None:
    """The loop of :func:`_process_files`: feeds the child, collects its records."""
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
        if outcome.status == PENDING_WRITE:
            writes.submit(outcome)  # counted once its PUT is answered
        else:
            progress.add(outcome)


def _index_in_child(paths: list[str], setup: RunSetup) -> bytes:
    """``--verify``'s index of the partition's identities, each input read by this thread's
    child under the per-file time limit (an input that hangs the parser is left out of the
    index after its time; its own per-file step then quarantines it)."""
    import numpy as np

    arrays: list = []
    waiting = deque(paths)
    in_flight: deque[str] = deque()
    retried: set[str] = set()
    dead_on_arrival = 0
    child = None
    while waiting or in_flight:
        if child is None or not child.alive:
            child = _child_for(setup)
        while waiting and len(in_flight) < PIPELINE_DEPTH:
            if not child.ask_terms(waiting[0]):
                break
            in_flight.append(waiting.popleft())
        if not in_flight:
            child.kill()
            dead_on_arrival += 1
            if dead_on_arrival >= 3:
                raise ChildFailed("worker child keeps dying before it takes a file")
            continue
        outcome = child.terms(setup.file_timeout)
        path = in_flight.popleft()
        if isinstance(outcome, str):  # the child is gone; the files behind go again
            waiting.extendleft(reversed(in_flight))
            in_flight.clear()
            if outcome == IDLE_EXIT and path not in retried:
                retried.add(path)
                waiting.appendleft(path)
            continue
        dead_on_arrival = 0
        arrays.append(np.frombuffer(outcome, dtype=np.uint64))
    return merge(arrays)[0].tobytes()


def summarize_records(statuses: list[str]) -> dict:
    return dict(Counter(statuses))


def run_partition(index: int, content_hash: str, paths: list[str], setup: RunSetup) -> dict:
    """Process (or skip) one partition; returns ``{"index", "skipped", "status": {...}}``."""
    configure(setup.storage_options, setup.storage_env)
    ledger = location(setup.ledger_dir)
    if ledger_mod.partition_complete(ledger, index, content_hash, setup.verify, setup.limits):
        table = read_table(ledger_mod.part_path(ledger, "files", index), columns=["status"])
        statuses = table.column("status").to_pylist()
        return {"index": index, "skipped": True, "status": summarize_records(statuses)}
    started = time.perf_counter()
    progress = _Progress(index)
    extra: dict[bytes, bytes] = {}
    if setup.pacs is not None:  # fetch from / send to a PACS around the same per-file step
        from deid.pipeline.pacs_partition import process_partition

        records, extra = process_partition(
            paths, index, setup, progress, _process_files, content_hash
        )
    else:
        cross = b""
        if setup.verify:  # every output searched for the other inputs' identities too
            cross = _index_in_child(paths, setup)
        records = _process_files(paths, index, setup, progress, cross)
    progress.flush()
    bound = ledger_mod.binding(setup.out_dir, setup.keys.fingerprint(), setup.verify, setup.limits)
    bound.update(extra)
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
