"""A PACS as the INPUT of ``deid run``: the plan's units (series) and a worker's fetch.

The client lists what the query selects down to the series (QIDO-RS or C-FIND); each series
becomes one plan entry, a URL-like name ``<endpoint>/studies/<study>/series/<series>``, so
the partition plan, its hashes and resume work exactly as for file paths. A worker lists
the instances of its series and fetches them into its private staging folder, one HTTP
session (DICOMweb) or one association (DIMSE, C-FIND then C-GET) for the whole partition.
Every instance ends as a staged file or as a failure with its reason: nothing listed is
dropped silently. The names never hold credentials (those come from ``auth``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deid.errors import UserError
from deid.pacs import cfind, qido
from deid.pacs.failures import PacsError
from deid.pacs.query import Query
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint

Endpoint = DicomwebEndpoint | DimseEndpoint
#: WADO-RS requests in flight per worker partition.
PARALLEL_GETS = 4


def unit_name(endpoint: Endpoint, study_uid: str, series_uid: str) -> str:
    return f"{endpoint}/studies/{study_uid}/series/{series_uid}"


def instance_name(endpoint: Endpoint, ref: InstanceRef) -> str:
    """The ledger's ``input_path`` of a pulled instance: where it came from, no secret."""
    return f"{unit_name(endpoint, ref.study_uid, ref.series_uid)}/instances/{ref.sop_uid}"


def parse_unit(name: str) -> tuple[str, str]:
    """(study UID, series UID) of a plan entry made by :func:`unit_name`."""
    head, _, series = name.rpartition("/series/")
    study = head.rpartition("/studies/")[2]
    if not study or not series:
        raise ValueError(f"not a PACS plan entry: {name!r}")
    return study, series


def list_units(
    endpoint: Endpoint, query: Query, policy: RetryPolicy = DEFAULT_POLICY
) -> dict[str, int | None]:
    """Every series the query selects, as plan entries in sorted order (the client's
    listing), each with the number of instances the server says it holds (None when it
    does not say: Number of Series Related Instances is optional in both QIDO and C-FIND).

    A listing that fails after its retries is a one-line usage error: nothing was fetched.
    """
    lister = qido if isinstance(endpoint, DicomwebEndpoint) else cfind
    try:
        units = {
            unit_name(endpoint, study.study_uid, series.series_uid): series.instances
            for study in lister.list_studies(endpoint, query, policy)
            for series in lister.list_series(endpoint, study.study_uid, query, policy)
        }
    except PacsError as error:
        raise UserError(f"source {error.reason}") from None
    return dict(sorted(units.items()))


@dataclass
class Fetched:
    """One listed instance: its staged file, or why it could not be fetched."""

    ref: InstanceRef
    name: str  # instance_name(): the ledger's input_path
    path: Path | None = None
    reason: str | None = None
    transient: bool = False


class Fetcher:
    """A worker's connection to the source for one partition: one HTTP session (DICOMweb)
    or one C-GET association (DIMSE, opened on the first fetch with the storage contexts of
    the SOP classes listed), used from one thread at a time."""

    def __init__(
        self,
        endpoint: Endpoint,
        policy: RetryPolicy = DEFAULT_POLICY,
        move: tuple[str, str] | None = None,
    ) -> None:
        from deid.pacs.auth import http_session
        from deid.pacs.dicomweb import dicomweb_client

        self.endpoint, self.policy, self.move = endpoint, policy, move
        self.session: Any = None
        self.client: Any = None
        self.get: Any = None  # the C-GET or C-MOVE session, opened on the first fetch
        if isinstance(endpoint, DicomwebEndpoint):
            self.session = http_session(endpoint.host, "source")
            self.client = dicomweb_client(endpoint, "source", self.session)
        self.classes: list[str] = []

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        if self.session is not None:
            self.session.close()
        if self.get is not None:
            self.get.__exit__(None, None, None)

    def list_partition(self, units: list[str], skip: set[str] | frozenset = frozenset()):
        """Every instance of ``units`` but those in ``skip`` (names the ledger already
        records as finished: a rerun of a partition that had transient failures). A series
        whose listing fails raises PacsError: the partition fails as a whole, is not
        recorded, and the rerun redoes it (nothing it holds is lost)."""
        wanted: list[Fetched] = []
        for unit in units:
            study, series = parse_unit(unit)
            if isinstance(self.endpoint, DicomwebEndpoint):
                refs = qido.list_instances(self.endpoint, study, series, self.policy, self.client)
            else:
                refs = cfind.list_instances(self.endpoint, study, series, self.policy)
            for ref in refs:
                name = instance_name(self.endpoint, ref)
                if name not in skip:
                    wanted.append(Fetched(ref, name))
        self.classes = sorted({w.ref.sop_class_uid for w in wanted if w.ref.sop_class_uid})
        return wanted

    def fetch(self, items: list[Fetched], staging: Path, first: int = 0) -> list[Fetched]:
        """Fetch ``items`` into ``staging`` (owner-only files numbered from ``first``).

        DICOMweb GETs go :data:`PARALLEL_GETS` at a time on the session's connection pool:
        an archive answers one instance in tens of milliseconds, mostly waiting, so a few in
        flight keep the worker's child fed. A DIMSE association carries one C-GET at a time.
        """
        numbered = list(enumerate(items, first))
        if isinstance(self.endpoint, DicomwebEndpoint) and len(items) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(PARALLEL_GETS, thread_name_prefix="deid-wado") as pool:
                list(
                    pool.map(lambda n: _fetch_one(n[1], staging, n[0], self._fetch_bytes), numbered)
                )
        else:
            for number, item in numbered:
                _fetch_one(item, staging, number, self._fetch_bytes)
        return items

    def _fetch_bytes(self, ref: InstanceRef) -> bytes:
        if isinstance(self.endpoint, DicomwebEndpoint):
            from deid.pacs import wado

            return wado.fetch_instance(self.endpoint, ref, self.policy, session=self.session)
        if self.get is None and self.move is not None:
            from deid.pacs.move import MoveSession

            self.get = MoveSession(self.endpoint, self.move[0], self.move[1], self.policy)
        elif self.get is None:
            from deid.pacs import cget

            self.get = cget.GetSession(self.endpoint, self.classes, self.policy)
        return self.get.fetch(ref)


def fetch_partition(
    endpoint: Endpoint,
    units: list[str],
    staging: Path,
    skip: set[str] | frozenset = frozenset(),
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Fetched]:
    """List and fetch every instance of ``units`` into ``staging``, in one go."""
    with Fetcher(endpoint, policy) as fetcher:
        return fetcher.fetch(fetcher.list_partition(units, skip), staging)


def _stage(staging: Path, index: int, data: bytes) -> Path:
    path = staging / f"{index:06d}.dcm"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def _fetch_one(item: Fetched, staging: Path, number: int, fetch) -> None:
    try:
        data = fetch(item.ref)
    except PacsError as error:
        item.reason, item.transient = f"fetch: {error.reason}", error.transient
        return
    item.path = _stage(staging, number, data)
