"""QIDO-RS listing: the studies a query selects, their series, their instances."""

from __future__ import annotations

import functools

from pydicom.dataset import Dataset

from deid.pacs.dicomweb import dicomweb_client
from deid.pacs.query import Query
from deid.pacs.refs import InstanceRef, SeriesRef, StudyRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint

PAGE = 500


def _paged(search, filters: dict, fields: list[str]) -> list[Dataset]:
    """Every match, a page at a time (servers cap an answer: Orthanc's LimitFindResults)."""
    found: list[Dataset] = []
    while True:
        page = search(search_filters=filters, fields=fields, limit=PAGE, offset=len(found))
        found.extend(Dataset.from_json(item) for item in page)
        if len(page) < PAGE:
            return found


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    return int(value) if value not in (None, "") else None


def list_studies(
    endpoint: DicomwebEndpoint, query: Query, policy: RetryPolicy = DEFAULT_POLICY
) -> list[StudyRef]:
    """The studies the query selects, each once, in the server's order."""
    client = dicomweb_client(endpoint, "source")
    fields = ["StudyInstanceUID", "NumberOfStudyRelatedInstances"]
    filter_sets = [{**query.study_keys, "StudyInstanceUID": uid} for uid in query.study_uids] or [
        dict(query.study_keys)
    ]
    seen: dict[str, StudyRef] = {}
    for filters in filter_sets:
        found = with_retry(
            functools.partial(_paged, client.search_for_studies, filters, fields),
            f"QIDO-RS studies at {endpoint}",
            policy,
        )
        for ds in found:
            uid = str(ds.StudyInstanceUID)
            seen.setdefault(uid, StudyRef(uid, _int(ds, "NumberOfStudyRelatedInstances")))
    return list(seen.values())


def list_series(
    endpoint: DicomwebEndpoint,
    study_uid: str,
    query: Query = Query(),  # noqa: B008 (frozen, shared safely)
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[SeriesRef]:
    client = dicomweb_client(endpoint, "source")
    fields = ["SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances"]
    filter_sets = [
        {**query.series_keys, "SeriesInstanceUID": uid} for uid in query.series_uids
    ] or [dict(query.series_keys)]
    seen: dict[str, SeriesRef] = {}
    for filters in filter_sets:
        found = with_retry(
            functools.partial(
                _paged,
                functools.partial(client.search_for_series, study_instance_uid=study_uid),
                filters,
                fields,
            ),
            f"QIDO-RS series of a study at {endpoint}",
            policy,
        )
        for ds in found:
            uid = str(ds.SeriesInstanceUID)
            modality = str(ds.get("Modality", "")) or None
            seen.setdefault(
                uid, SeriesRef(study_uid, uid, modality, _int(ds, "NumberOfSeriesRelatedInstances"))
            )
    return list(seen.values())


def list_instances(
    endpoint: DicomwebEndpoint,
    study_uid: str,
    series_uid: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    client=None,
) -> list[InstanceRef]:
    """``client``: one the caller reuses for a whole partition, else a new one."""
    client = client or dicomweb_client(endpoint, "source")
    found = with_retry(
        lambda: _paged(
            lambda **kw: client.search_for_instances(
                study_instance_uid=study_uid, series_instance_uid=series_uid, **kw
            ),
            {},
            ["SOPInstanceUID", "SOPClassUID"],
        ),
        f"QIDO-RS instances of a series at {endpoint}",
        policy,
    )
    return [
        InstanceRef(study_uid, series_uid, str(ds.SOPInstanceUID), str(ds.get("SOPClassUID", "")))
        for ds in found
    ]
