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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deid.errors import UserError
from deid.pacs import cfind, qido
from deid.pacs.errors import PacsError
from deid.pacs.query import Query
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint

Endpoint = DicomwebEndpoint | DimseEndpoint


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


def list_units(endpoint: Endpoint, query: Query, policy: RetryPolicy = DEFAULT_POLICY) -> list[str]:
    """Every series the query selects, as sorted plan entries (the client's listing).

    A listing that fails after its retries is a one-line usage error: nothing was fetched.
    """
    lister = qido if isinstance(endpoint, DicomwebEndpoint) else cfind
    try:
        names = {
            unit_name(endpoint, study.study_uid, series.series_uid)
            for study in lister.list_studies(endpoint, query, policy)
            for series in lister.list_series(endpoint, study.study_uid, query, policy)
        }
    except PacsError as error:
        raise UserError(f"source {error.reason}") from None
    return sorted(names)


@dataclass
class Fetched:
    """One listed instance: its staged file, or why it could not be fetched."""

    ref: InstanceRef
    name: str  # instance_name(): the ledger's input_path
    path: Path | None = None
    reason: str | None = None
    transient: bool = False


class _DicomwebFetcher:
    def __init__(self, endpoint: DicomwebEndpoint, policy: RetryPolicy) -> None:
        from deid.pacs.auth import http_session
        from deid.pacs.dicomweb import dicomweb_client

        self.endpoint, self.policy = endpoint, policy
        self.session = http_session(endpoint.host, "source")
        self.client = dicomweb_client(endpoint, "source", self.session)

    def list(self, study: str, series: str) -> list[InstanceRef]:
        return qido.list_instances(self.endpoint, study, series, self.policy, self.client)

    def fetch(self, ref: InstanceRef) -> bytes:
        from deid.pacs import wado

        return wado.fetch_instance(self.endpoint, ref, self.policy, session=self.session)

    def close(self) -> None:
        self.session.close()


class _DimseFetcher:
    """C-FIND for the listing and C-GET for each instance, on associations opened once."""

    def __init__(self, endpoint: DimseEndpoint, policy: RetryPolicy) -> None:
        self.endpoint, self.policy = endpoint, policy

    def list(self, study: str, series: str) -> list[InstanceRef]:
        return cfind.list_instances(self.endpoint, study, series, self.policy)

    def close(self) -> None:
        pass


def fetch_partition(
    endpoint: Endpoint,
    units: list[str],
    staging: Path,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[Fetched]:
    """List and fetch every instance of ``units`` into ``staging`` (owner-only files).

    ``skip`` holds instance names the ledger already records as finished (a rerun of a
    partition that had transient failures): those are listed but not fetched again. A
    series whose listing fails raises PacsError: the partition fails as a whole, is not
    recorded, and the rerun redoes it (nothing it holds is lost).
    """
    if isinstance(endpoint, DicomwebEndpoint):
        fetcher: _DicomwebFetcher | _DimseFetcher = _DicomwebFetcher(endpoint, policy)
    else:
        fetcher = _DimseFetcher(endpoint, policy)
    try:
        wanted: list[Fetched] = []
        for unit in units:
            study, series = parse_unit(unit)
            for ref in fetcher.list(study, series):
                name = instance_name(endpoint, ref)
                if name not in skip:
                    wanted.append(Fetched(ref, name))
        if isinstance(fetcher, _DicomwebFetcher):
            for number, item in enumerate(wanted):
                _fetch_one(item, staging, number, fetcher.fetch)
        elif isinstance(endpoint, DimseEndpoint):
            _cget_all(endpoint, wanted, staging, policy)
        return wanted
    finally:
        fetcher.close()


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


def _cget_all(
    endpoint: DimseEndpoint, wanted: list[Fetched], staging: Path, policy: RetryPolicy
) -> None:
    """C-GET each instance on one association (reopened only when it is lost)."""
    from deid.pacs import cget

    classes = sorted({w.ref.sop_class_uid for w in wanted if w.ref.sop_class_uid})
    with cget.GetSession(endpoint, classes, policy) as session:
        for number, item in enumerate(wanted):
            _fetch_one(item, staging, number, session.fetch)


def iter_staged(fetched: list[Fetched]) -> Iterator[Fetched]:
    return (f for f in fetched if f.path is not None)
