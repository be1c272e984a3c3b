"""A small read-ahead for object inputs: the next objects are in flight while this one is
de-identified.

Why: a GET from object storage takes milliseconds to tens of milliseconds, about what the
engine needs for a small file, so reading one object after another would leave the CPU idle
half the time. The per-file child already receives a few paths ahead
(:data:`deid.pipeline.partition.PIPELINE_DEPTH`); it hands each to :meth:`Prefetcher.want`
as it arrives, and a couple of threads fetch them while the main thread works. Bytes are
held only for the few queued files, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

#: Threads fetching at once per child: GETs wait on the network, not on a core.
THREADS = 2


class Prefetcher:
    """Reads URLs ahead with ``reader``; :meth:`take` returns one or raises its error."""

    def __init__(self, reader: Callable[[str], bytes] | None = None, threads: int = THREADS):
        if reader is None:
            from deid.storage.objects import read_object

            reader = read_object
        self._reader = reader
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deid-prefetch")
        self._pending: dict[str, Future] = {}

    def want(self, url: str) -> None:
        if url not in self._pending:
            self._pending[url] = self._pool.submit(self._reader, url)

    def take(self, url: str) -> bytes:
        future = self._pending.pop(url, None)
        if future is None:
            return self._reader(url)
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pending.clear()
