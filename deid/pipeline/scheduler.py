"""Reaching a Dask cluster: check a ``--scheduler`` address, start a local one that Ctrl-C
stops cleanly.

Why a module of its own: ``deid run`` and ``deid verify`` both take ``--scheduler`` and both
may start a ``LocalCluster``. A mistyped address used to surface as a ``distributed``
traceback, and a closed port as a 30 s wait that had already created the ledger and its key;
both are usage errors that should be one line, before anything is written. And a Ctrl-C at
a terminal reaches the whole process group: every Dask worker process printed its own
``KeyboardInterrupt`` traceback, and a per-file child interrupted mid-file could be
recorded as quarantined ("killed by SIGINT") in a partition that then counted as done.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from deid.errors import UserError

#: How long a TCP connection to the scheduler may take before the address counts as dead.
PROBE_TIMEOUT = 5.0


def parse_scheduler(address: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a Dask address; a malformed one is a :class:`UserError`.

    ``port`` is None for schemes without one (``inproc://``). Dask's own parser decides, so
    whatever ``Client(address)`` accepts is accepted here.
    """
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            return scheme, host, int(port)
    except (ValueError, TypeError) as error:
        raise UserError(
            f"--scheduler {address}: not a scheduler address ({error}); "
            "write tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
        ) from None
    return scheme, location, None


def check_scheduler(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Fail fast (one line, exit 2) when nothing listens at ``address``.

    A plain TCP connect: a refused port answers at once, where ``Client`` would retry for
    its whole timeout. A scheduler that accepts the connection is then left to ``Client``.
    """
    _scheme, host, port = parse_scheduler(address)
    if port is None:
        return
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if isinstance(error, TimeoutError):
            reason = f"no answer within {timeout:g} s"
        raise UserError(f"cannot reach scheduler {address}: {reason}") from None


@contextlib.contextmanager
def sigint_ignored_in_children() -> Iterator[None]:
    """While inside, SIGINT is ignored, so the processes started here inherit "ignore".

    An ignored disposition survives ``fork``/``exec`` (a Python handler does not) and Python
    then installs no KeyboardInterrupt handler, so the worker processes of a
    ``LocalCluster`` built inside, and the per-file children they start, leave a terminal's
    Ctrl-C to this process alone, which then closes the cluster. The cost: a Ctrl-C during
    the second or two of start-up is dropped. (Blocking it instead does not hold it back:
    native threads, e.g. OpenBLAS's, take the signal and drop it just the same, and a mask
    is not passed on to the spawned workers.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)


#: Dask settings for the workers of a local cluster (each Nanny hands its config over to its
#: worker process). A worker thread here only shuttles paths to its child process and
#: records back, yet Dask's statistical profiler sampled its stack 100 times a second and
#: the monitors polled psutil ten times a second: about a sixth of a core per worker,
#: taken from the children on a small machine. The memory limit is still enforced.
#: Workers are forked from one forkserver (a single-threaded process that imported Dask
#: once) instead of each starting a fresh interpreter: a few tenths of a second less per
#: run, and they stop faster. Plain ``fork`` would be faster still, but this process has
#: threads by then, and a child forked from threads can inherit a lock nobody will release.
LOCAL_WORKER_CONFIG = {
    "distributed.worker.multiprocessing-method": "forkserver",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",  # event-loop health check, 50/s by default
}


#: What the forkserver imports once, before it forks any worker: Dask, and the modules a
#: worker needs for its first partition (pyarrow among them).
FORKSERVER_PRELOAD = ["distributed", "deid.pipeline.partition", "deid.pipeline.duplicates"]


def warm_forkserver() -> None:
    """Start the forkserver local workers are forked from (see :data:`LOCAL_WORKER_CONFIG`)
    now, so that it imports Dask while this process does the same and loads the recipe:
    started by the cluster, it cost a third of a second more on the way to the first file.

    Started with SIGINT ignored, which the workers it forks inherit (see
    :func:`sigint_ignored_in_children`). Returns at once; the server boots on its own.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():  # e.g. Windows
        return
    check_interpreter_runnable()
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
    with sigint_ignored_in_children():
        forkserver.ensure_running()


def local_client(n_workers: int, **cluster_kwargs):
    """``(Client, LocalCluster)`` of ``n_workers`` one-thread processes on 127.0.0.1.

    Workers ignore SIGINT (see :func:`sigint_ignored_in_children`); the scheduler's
    HTTP server takes a random local port so concurrent runs never fight over 8787.
    """
    import multiprocessing

    import dask
    from distributed import Client, LocalCluster

    options = {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
        "silence_logs": 40,
    }
    options.update(cluster_kwargs)
    check_interpreter_runnable()
    cluster = client = None
    config = dict(LOCAL_WORKER_CONFIG)
    if "forkserver" not in multiprocessing.get_all_start_methods():  # e.g. Windows
        del config["distributed.worker.multiprocessing-method"]
    try:
        with sigint_ignored_in_children(), dask.config.set(config), _start_logs_quiet():
            cluster = LocalCluster(**options)
            client = Client(cluster)
    except BaseException as error:
        if client is not None:
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        if isinstance(error, Exception):
            raise UserError(_cluster_failure(error)) from None
        raise
    return client, cluster


#: The loggers that print a worker's failure to start as a traceback; the failure reaches
#: the user as one line instead (:func:`_cluster_failure`).
_START_LOGGERS = ("distributed.nanny", "distributed.deploy.spec", "distributed.core")


@contextlib.contextmanager
def _start_logs_quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _START_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _cluster_failure(error: BaseException) -> str:
    """One line for a local cluster that did not start: the innermost cause, and the one
    cause seen in practice that the user can mend (an interpreter this user cannot run,
    e.g. a virtual environment made from a Python under another user's 0700 home)."""

    cause = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    detail = " ".join(str(cause).split()) or type(cause).__name__
    return f"the local Dask cluster did not start ({type(cause).__name__}: {detail})"


def check_interpreter_runnable() -> None:
    """Refuse, in one line, to start processes this user cannot start.

    Worker processes, the forkserver and multiprocessing's resource tracker are started by
    exec of ``sys.executable``. In a virtual environment that is a link to the interpreter
    it was made from; made from a Python under another user's 0700 home (a pyenv under
    /root), the link cannot be followed by anyone else, and every start fails with a
    broken pipe and a screen of tracebacks."""
    import os
    import sys

    real = os.path.realpath(sys.executable)
    if not os.access(real, os.X_OK):
        raise UserError(
            f"this user cannot run {real}, the interpreter {sys.executable} links to, so no "
            "worker process can start: make the environment with a Python every user of "
            "it can read"
        )


def remote_client(address: str, timeout: str = "30s"):
    """A Client on a running scheduler, after :func:`check_scheduler` said it listens."""
    from distributed import Client

    check_scheduler(address)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise UserError(f"cannot reach scheduler {address}: {error}") from None


def quiet_shutdown() -> None:
    """Silence Dask's in-process loggers before closing a cluster the user interrupted.

    The scheduler runs in this process; torn down mid-operation (a scatter, a task in
    flight) it logs errors and "Task exception was never retrieved" tracebacks that say
    nothing to the user, who asked for the stop and gets one line about it.
    """
    for name in ("distributed", "asyncio", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


class EarlyCluster:
    """A local cluster that starts in a thread while the caller goes on preparing.

    Its worker processes take about half a second to come up; ``deid run`` meanwhile loads
    pydicom and the recipe, walks nothing more and writes its ledger header. SIGINT stays
    ignored in this process from the start until :meth:`take` or :meth:`discard` (the
    workers must inherit "ignore", see :func:`sigint_ignored_in_children`, and the thread
    cannot set it itself), so a Ctrl-C in that second is dropped, as during any start-up.
    """

    def __init__(self, n_workers: int, prestart_children: bool = True) -> None:
        self._result: tuple | None = None
        self._error: BaseException | None = None
        self._restore = None
        if threading.current_thread() is threading.main_thread():
            self._restore = signal.signal(signal.SIGINT, signal.SIG_IGN)
        extra = {}
        if prestart_children:  # deid run's local workers: see deid.pipeline.supervise
            from deid.pipeline.supervise import PrestartChild

            extra["plugins"] = (PrestartChild(),)
        self._thread = threading.Thread(
            target=self._start, args=(n_workers, extra), name="deid-cluster-start", daemon=True
        )
        self._thread.start()

    def _start(self, n_workers: int, extra: dict) -> None:
        try:
            self._result = local_client(n_workers, **extra)
        except BaseException as error:  # handed to the caller by take()
            self._error = error

    def _join(self) -> None:
        self._thread.join()
        if self._restore is not None:
            signal.signal(signal.SIGINT, self._restore)
            self._restore = None

    def take(self) -> tuple:
        """``(client, cluster)`` once started; the caller closes them from now on."""
        self._join()
        if self._error is not None:
            raise self._error
        result, self._result = self._result, None
        assert result is not None  # _join returned without an error: the cluster is up
        return result

    def discard(self) -> None:
        """Close a cluster nobody took (the run stopped before its first submission)."""
        self._join()
        if self._result is not None:
            client, cluster = self._result
            self._result = None
            with contextlib.suppress(Exception):
                client.close()
            with contextlib.suppress(Exception):
                cluster.close()


class _SyncCancelNoise(logging.Filter):
    """Drops the traceback ``distributed`` logs when a Ctrl-C lands in its ``sync()`` before
    the awaited future exists (its ``cancel`` callback then reads an unbound name): the
    interrupt itself is handled, and that traceback would be all the user sees of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "sync.<locals>.cancel" not in record.getMessage()


@contextlib.contextmanager
def dask_client(
    scheduler: str | None,
    n_workers: int,
    prestart_children: bool = False,
    early: EarlyCluster | None = None,
) -> Iterator:
    """A Client on ``scheduler``, on ``early``'s cluster, or on a new :func:`local_client`
    cluster of ``n_workers``.

    What ``deid run`` and ``deid verify`` both need around their submissions: the client
    and its local cluster are closed however the block ends, and a Ctrl-C inside it closes
    them quietly (:func:`quiet_shutdown`) before the interrupt goes on to the command.
    """
    cluster = None
    if scheduler:
        client = remote_client(scheduler)
    elif early is not None:
        client, cluster = early.take()
    else:
        extra = {}
        if prestart_children:  # deid run's local workers: see deid.pipeline.supervise
            from deid.pipeline.supervise import PrestartChild

            extra["plugins"] = (PrestartChild(),)
        client, cluster = local_client(n_workers, **extra)
    # Kept after the block too: the callback may run while the loop winds down.
    tornado_log = logging.getLogger("tornado.application")
    if not any(isinstance(f, _SyncCancelNoise) for f in tornado_log.filters):
        tornado_log.addFilter(_SyncCancelNoise())
    try:
        yield client
    except KeyboardInterrupt:
        quiet_shutdown()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def bounded_completion(
    submit_next: Callable[[], Any], limit: int, first: Iterable[Any] = ()
) -> Iterator[Any]:
    """Futures as they finish, with at most ``limit`` of ``submit_next``'s in flight.

    Why one helper for ``deid run`` and ``deid verify``: a million-file plan must not become
    a million futures on the client at once, and both submit the same way: ``limit`` tasks,
    then one more each time one finishes (``submit_next`` returns None when there is none,
    or when the caller decided to stop). ``first``: futures already submitted (outside the
    bound). Each future is released once the caller has taken its result."""
    from distributed import as_completed  # about a second to import: only when used

    pending = as_completed(list(first))
    for _ in range(limit):
        future = submit_next()
        if future is None:
            break
        pending.add(future)
    for future in pending:
        yield future
        future.release()
        following = submit_next()
        if following is not None:
            pending.add(following)
