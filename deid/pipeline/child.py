"""The process that de-identifies files for one partition, so a hang can be cut off.

A Dask task runs in a worker *thread*, where neither SIGALRM nor killing is possible, and
Dask's worker processes are daemonic (no multiprocessing children). So each partition drives
a plain ``python -m deid.pipeline.child`` subprocess over pipes: the parent keeps a couple of
paths queued ahead (:data:`deid.pipeline.partition.PIPELINE_DEPTH`) and waits for each
record with the per-file time limit; a child that overruns or dies (segfault, OOM kill) is
killed and replaced, only the file it was working on is quarantined, and the queued ones go
to the replacement. Protocol (pickled tuples over ``multiprocessing.connection`` framing):

    parent -> child: setup dict, then ("file", path, partition, cross) ... ("stop",)
    child -> parent: ("ready",), then ("done", FileRecord.values()) per file

and, for ``--verify``'s partition index before the files, ("terms", path) answered by
("terms", hashes as bytes).

A child serves every partition its worker thread runs (starting Python and importing pydicom
costs about half a second, too much per partition); it exits when its parent goes away or
after :data:`IDLE_SECONDS` without work, so a long-lived external cluster keeps no idle
children around.

The child keeps its real stdout for the protocol and points fd 1 at stderr, so a library
that prints cannot corrupt the stream.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import sys
import warnings
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

IDLE_SECONDS = 300.0


def _context(setup: dict):
    from deid.pipeline.limits import Limits, apply_memory_limit
    from deid.pipeline.per_file import WorkContext
    from deid.storage.filesystems import configure
    from deid.storage.remote import location

    limits = setup.get("limits") or Limits()
    # Credentials stay in this process's memory.
    configure(setup.get("storage_options"), setup.get("storage_env"))
    # Once the imports are done, before the first file: one file never takes the machine.
    apply_memory_limit(limits.child_memory_bytes)
    out_dir = location(setup["out_dir"])
    return WorkContext(
        recipe=pickle.loads(setup["recipe"]),
        keys=setup["keys"],
        out_dir=out_dir,
        verify=setup["verify"],
        limits=limits,
        # Object outputs go back to the parent, which PUTs them while this process works
        # on the next file (a PUT waits on the network; local files are written here).
        defer_writes=not isinstance(out_dir, Path),
    )


def _warm(ctx) -> None:
    """Import the pixel step and load the text detector's models before the first file
    when the recipe cleans pixels (:func:`deid.pixels.ppocr.warm`): per-file times then
    measure files, not the process's start."""
    pixels = ctx.recipe.pixels
    if not pixels.enabled:
        return
    try:
        import deid.pixels.clean  # noqa: F401  (OpenCV and the codecs: a quarter second)

        if pixels.ocr:
            from deid.pixels.ppocr import warm

            warm()
    except Exception:  # an import error, a shared library that fails to load: best effort
        return  # the engine quarantines each file with the reason (fail closed)


def _read_ahead(ctx, message) -> None:
    """Start fetching the object a "file" message names (URL inputs only)."""
    from deid.storage.locations import is_url

    if message[0] != "file" or not is_url(message[1]):
        return
    if ctx.prefetch is None:
        from deid.storage.prefetch import Prefetcher

        ctx.prefetch = Prefetcher()
    ctx.prefetch.want(message[1])


def _input_hashes(path: str, ctx) -> bytes:
    """The identity hashes of one input for the partition's cross index, read here under
    the same limits as its per-file step (value size cap, memory limit, the parent's time
    limit), so an input that hangs or floods the parser costs its own entry only."""
    from deid.pipeline.limits import check_values
    from deid.verification.crossindex import input_hashes

    def check(dataset) -> None:
        check_values(dataset, ctx.limits.max_value_bytes)

    return input_hashes(path, ctx.recipe, check).tobytes()


def main(process=None, hash_input=None) -> int:
    """Serve one parent; ``process`` replaces :func:`process_file` and ``hash_input`` the
    cross index's reading of an input (tests use them to hang or crash)."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    inbound = Connection(0, writable=False)
    outbound = Connection(protocol_fd, readable=False)
    warnings.simplefilter("ignore")
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    if process is None:
        from deid.pipeline.per_file import process_file as process
    if hash_input is None:
        hash_input = _input_hashes
    # The engine's imports come before the setup: a prestarted child does them while its
    # worker is still starting (see deid.pipeline.supervise), not at the first file.
    import deid.rewrite.engine
    import deid.rewrite.writer  # noqa: F401
    from deid.storage.filesystems import preload

    preload()  # s3fs & co. when the run has object locations (see PRELOAD_ENV)

    try:
        ctx = _context(inbound.recv())
    except (EOFError, OSError):  # a prestarted child whose worker never needed it
        return 0
    _warm(ctx)
    outbound.send(("ready",))
    readable = select.poll()  # one for all files: Connection.poll builds one per call
    readable.register(inbound.fileno(), select.POLLIN)
    pending: deque = deque()  # messages received, not yet handled (oldest first)
    while True:
        try:
            if not pending:
                if not readable.poll(IDLE_SECONDS * 1000):
                    return 0
                pending.append(inbound.recv())
                _read_ahead(ctx, pending[-1])
            # The files the parent queued behind this one: their objects are fetched while
            # this one is worked on (local files are read when their turn comes, as ever).
            while readable.poll(0):
                pending.append(inbound.recv())
                _read_ahead(ctx, pending[-1])
        except (EOFError, OSError):  # parent gone: stop quietly, outputs are atomic
            return 0
        message = pending.popleft()
        if message[0] == "terms":  # --verify's partition index, one input at a time
            try:
                outbound.send(("terms", hash_input(message[1], ctx)))
            except (BrokenPipeError, OSError):
                return 0
            continue
        if message[0] != "file":
            return 0
        ctx.partition = message[2]
        ctx.cross = message[3] if len(message) > 3 else b""
        record = process(message[1], ctx)
        deferred, ctx.deferred = ctx.deferred, None
        try:
            if deferred is not None:  # an object output: the parent PUTs it
                outbound.send(("done", record.values(), deferred))
            else:
                outbound.send(("done", record.values()))
        except (BrokenPipeError, OSError):
            return 0


if __name__ == "__main__":
    sys.exit(main())
