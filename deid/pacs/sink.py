"""A PACS as the ``--out`` of ``deid run``: send a partition's outputs, keep each answer.

The worker's child writes the de-identified files into the worker's private staging folder
as it would into an output folder (so ``--verify`` has already stopped whatever it would
stop: a quarantined file is never written, hence never sent). This module then sends the
written ones in batches, STOW-RS on one HTTP session or C-STORE on one association per
batch, and returns the destination's answer for every file. A batch that fails for a
transient cause after its retries (refused connection, timeout, 5xx, Out of Resources)
answers "not stored, transient" for each of its files, which the ledger then records as
quarantined for a rerun to retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from deid.pacs.failures import PacsError
from deid.pacs.refs import SendResult
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint

#: A batch is sent in one request (STOW-RS) or on one association (C-STORE).
BATCH_FILES = 32
BATCH_BYTES = 64 * 1024 * 1024


def _batches(paths: list[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for path in paths:
        length = path.stat().st_size
        if batch and (len(batch) >= BATCH_FILES or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


def answer_text(endpoint: DicomwebEndpoint | DimseEndpoint, result: SendResult) -> str:
    """The ``destination_status`` column: which protocol answered, and what."""
    kind = "STOW-RS" if isinstance(endpoint, DicomwebEndpoint) else "C-STORE"
    return f"{kind} {result.status}"


class Sender:
    """A worker's connection to the destination for one partition: one HTTP session
    (STOW-RS); C-STORE opens one association per batch. Used from one thread at a time."""

    def __init__(
        self, endpoint: DicomwebEndpoint | DimseEndpoint, policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self.endpoint, self.policy = endpoint, policy
        self.session = None
        if isinstance(endpoint, DicomwebEndpoint):
            from deid.pacs.auth import http_session

            self.session = http_session(endpoint.host, "dest")

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        if self.session is not None:
            self.session.close()

    def answer_text(self, result: SendResult) -> str:
        return answer_text(self.endpoint, result)

    def send(self, paths: list[Path], uids: list[str]) -> list[SendResult]:
        """The destination's answer for every path (whose SOP Instance UID is ``uids``'s)."""
        from deid.pacs import cstore, stow

        answers: list[SendResult] = []
        start = 0
        for batch in _batches(paths):
            batch_uids = uids[start : start + len(batch)]
            start += len(batch)
            data = [path.read_bytes() for path in batch]
            try:
                if isinstance(self.endpoint, DicomwebEndpoint):
                    answers += stow.send_instances(
                        self.endpoint, data, self.policy, self.session, batch_uids
                    )
                else:
                    answers += cstore.send_instances(self.endpoint, data, self.policy)
            except PacsError as error:
                answers += [
                    SendResult(uid, False, "error", error.reason, error.transient)
                    for uid in batch_uids
                ]
        return answers


def send_files(
    endpoint: DicomwebEndpoint | DimseEndpoint,
    paths: list[Path],
    uids: list[str],
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[SendResult]:
    """The destination's answer for every path, on a connection of its own."""
    with Sender(endpoint, policy) as sender:
        return sender.send(paths, uids)
