"""Cut the sorted path list into partitions, each with a content hash.

The plan depends only on the paths, the partition size and the run's identity (recipe
digest, key fingerprint, options that change outputs), so the same command always yields the
same partitions and a resumed run recognises each finished one by its hash. Partitions are
(start, stop) slices of the one path list: the client holds the list once, not copies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DEFAULT_PARTITION_SIZE = 500
#: A small run is cut finer, so every worker gets several partitions (a 600-file run in
#: partitions of 500 kept one of two workers busy for five sixths of it), but no finer than
#: this: each partition costs a ledger file and a task.
MIN_DEFAULT_PARTITION_SIZE = 50
PARTITIONS_PER_WORKER = 4


@dataclass(frozen=True)
class Partition:
    index: int
    start: int
    stop: int
    content_hash: str

    def __len__(self) -> int:
        return self.stop - self.start


def partition_hash(paths: Sequence[str], salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    for path in paths:
        digest.update(b"\0")
        digest.update(path.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def plan_partitions(paths: Sequence[str], size: int, salt: str) -> Iterator[Partition]:
    """Partitions of ``size`` consecutive paths (the last may be shorter)."""
    if size < 1:
        raise ValueError("partition size must be at least 1")
    for index, start in enumerate(range(0, len(paths), size)):
        stop = min(start + size, len(paths))
        yield Partition(index, start, stop, partition_hash(paths[start:stop], salt))


def default_partition_size(n_paths: int, workers: int) -> int:
    """Files per partition when the user names none: :data:`DEFAULT_PARTITION_SIZE`, or
    less when that would leave workers idle, at least :data:`MIN_DEFAULT_PARTITION_SIZE`.
    The ledger records the size, and a rerun keeps it whatever the worker count then."""
    balanced = -(-n_paths // max(1, PARTITIONS_PER_WORKER * workers))
    return max(MIN_DEFAULT_PARTITION_SIZE, min(DEFAULT_PARTITION_SIZE, balanced))


def partition_count(n_paths: int, size: int) -> int:
    return (n_paths + size - 1) // size
