"""The parent's side of a per-file child process (:mod:`deid.pipeline.child`).

A Dask task runs in a worker thread, which can neither time out nor kill the code it runs;
so each worker thread drives a child process over two pipes, and a child that hangs or dies
costs only the file it had (see :mod:`deid.pipeline.partition`).

Starting a child costs about half a second (Python, pydicom, the engine). A local cluster's
workers start one as they come up (:class:`PrestartChild`), so that half second overlaps
the cluster's own start instead of following it; the first partition then only hands the
run's setup over. Workers of an external cluster start theirs at their first partition.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection

from deid.pipeline.records import FileRecord

#: How long a fresh child may take to import everything and say "ready".
STARTUP_TIMEOUT = 120.0
DEFAULT_COMMAND = (sys.executable, "-m", "deid.pipeline.child")


class ChildFailed(RuntimeError):
    """The child process could not start: an installation problem, not a bad file."""


class Child:
    """One ``python -m deid.pipeline.child`` process and its two pipes."""

    def __init__(self, command: tuple[str, ...] | None = None) -> None:
        """Start the process; it imports the engine while nobody waits for it."""
        self.alive = True
        self.command = command
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            list(command or DEFAULT_COMMAND),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            close_fds=True,
        )
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None  # both are PIPE
        self.send = Connection(os.dup(stdin.fileno()), readable=False)
        self.recv = Connection(os.dup(stdout.fileno()), writable=False)
        stdin.close()
        stdout.close()
        # One poll object for the child's life: Connection.poll builds a selector per call,
        # a cost paid twice per file.
        self._readable = select.poll()
        self._readable.register(self.recv.fileno(), select.POLLIN)

    def start(self, setup: dict) -> Child:
        """Hand the run's setup over and wait for "ready"; :class:`ChildFailed` if it never
        comes (an installation problem, not a bad file)."""
        try:
            self.send.send(setup)
            message = self._receive(STARTUP_TIMEOUT)
        except (OSError, EOFError, TimeoutError):
            message = None
        if message != ("ready",):
            detail = self.stderr_tail()
            self.kill()
            raise ChildFailed(f"worker child did not start: {detail or 'no message'}")
        return self

    def _receive(self, timeout: float):
        if not self._readable.poll(timeout * 1000):
            raise TimeoutError
        return self.recv.recv()

    def submit(self, path: str, partition: int, cross: bytes = b"") -> bool:
        """Queue one file; False when the pipe is gone (the child died: :meth:`result` says
        why for a file it had, and a fresh child takes the rest). ``cross``: the partition's
        identity index for ``--verify`` (:func:`deid.verification.crossindex.run_findings`)."""
        try:
            self.send.send(("file", path, partition, cross))
            return True
        except OSError:
            return False

    def ask_terms(self, path: str) -> bool:
        """Queue one input for the partition's cross index (see :meth:`terms`)."""
        try:
            self.send.send(("terms", path))
            return True
        except OSError:
            return False

    def terms(self, timeout: float) -> bytes | str:
        """The index hashes of the oldest queued input, or why none came (then the child
        is dead, as in :meth:`result`)."""
        message = self._reply("terms", timeout)
        return message if isinstance(message, str) else message[1]

    def result(self, timeout: float) -> FileRecord | str:
        """The record of the oldest submitted file, or a one-line reason why the child
        produced none (then it is dead, and the files queued behind were never started)."""
        message = self._reply("done", timeout)
        if isinstance(message, str):
            return message
        record = FileRecord.from_values(message[1])
        if len(message) > 2:  # an object output for the parent to write
            record.deferred_output = message[2]  # type: ignore[attr-defined]
        return record

    def _reply(self, kind: str, timeout: float) -> tuple | str:
        """The child's next message, of ``kind``; else the one-line reason why none came,
        and the child is killed (what it had queued was never started)."""
        try:
            message = self._receive(timeout)
            if message[0] == kind:
                return message
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
        """The last line the child wrote to stderr ("" once it is released)."""
        with contextlib.suppress(OSError, ValueError):
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


_spares: list[Child] = []
_spares_lock = threading.Lock()


def take_spare(command: tuple[str, ...] | None) -> Child | None:
    """A prestarted child for ``command`` that is still alive, if this process has one."""
    with _spares_lock:
        while _spares:
            child = _spares.pop()
            if child.command == command and child.proc.poll() is None:
                return child
            child.kill()
    return None


def new_child(setup: dict, command: tuple[str, ...] | None = None) -> Child:
    """A started child: a prestarted one if there is one, else a fresh one."""
    child = take_spare(command) or Child(command)
    return child.start(setup)


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - distributed is a dependency
    WorkerPlugin = object  # type: ignore[assignment,misc]


class PrestartChild(WorkerPlugin):
    """Starts one child per worker thread as the worker starts (local clusters only)."""

    name = "deid-prestart-child"

    def setup(self, worker) -> None:
        with _spares_lock:
            for _ in range(max(1, int(getattr(worker.state, "nthreads", 1)))):
                _spares.append(Child())
        from deid.storage.filesystems import preload

        # The worker writes a run's object outputs and ledger parts: import s3fs & co.
        # now, beside the cluster's start, not at the first partition's first object.
        threading.Thread(target=preload, name="deid-preload", daemon=True).start()

    def teardown(self, worker) -> None:
        with _spares_lock:
            spares = list(_spares)
            _spares.clear()
        for child in spares:
            child.kill()
