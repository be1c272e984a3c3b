"""C-FIND listing (Study Root): the studies a query selects, their series, their instances."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from deid.pacs.association import associate, new_ae
from deid.pacs.failures import PacsError
from deid.pacs.query import Query
from deid.pacs.refs import InstanceRef, SeriesRef, StudyRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DimseEndpoint


def _find(endpoint: DimseEndpoint, identifier: Dataset, policy: RetryPolicy) -> list[Dataset]:
    def call() -> list[Dataset]:
        ae = new_ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        found: list[Dataset] = []
        with associate(ae, endpoint) as assoc:
            for status, answer in assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind
            ):
                code = getattr(status, "Status", None)
                if code is None:
                    raise PacsError(f"C-FIND at {endpoint}: no answer (timeout or abort)")
                if code in (0xFF00, 0xFF01) and answer is not None:
                    found.append(answer)
                elif code != 0x0000:
                    raise PacsError(f"C-FIND at {endpoint}: status 0x{code:04X}")
        return found

    return with_retry(call, f"C-FIND at {endpoint}", policy)


def _identifier(level: str, keys: dict[str, str], wanted: list[str]) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in wanted:
        setattr(ds, keyword, "")
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def list_studies(
    endpoint: DimseEndpoint, query: Query, policy: RetryPolicy = DEFAULT_POLICY
) -> list[StudyRef]:
    wanted = ["StudyInstanceUID", "NumberOfStudyRelatedInstances"]
    key_sets = [{**query.study_keys, "StudyInstanceUID": u} for u in query.study_uids] or [
        dict(query.study_keys)
    ]
    seen: dict[str, StudyRef] = {}
    for keys in key_sets:
        for ds in _find(endpoint, _identifier("STUDY", keys, wanted), policy):
            count = ds.get("NumberOfStudyRelatedInstances")
            seen.setdefault(
                str(ds.StudyInstanceUID),
                StudyRef(str(ds.StudyInstanceUID), int(count) if count not in (None, "") else None),
            )
    return list(seen.values())


def list_series(
    endpoint: DimseEndpoint,
    study_uid: str,
    query: Query = Query(),  # noqa: B008 (frozen, shared safely)
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[SeriesRef]:
    wanted = ["SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances"]
    base = {**query.series_keys, "StudyInstanceUID": study_uid}
    key_sets = [{**base, "SeriesInstanceUID": u} for u in query.series_uids] or [base]
    seen: dict[str, SeriesRef] = {}
    for keys in key_sets:
        for ds in _find(endpoint, _identifier("SERIES", keys, wanted), policy):
            count = ds.get("NumberOfSeriesRelatedInstances")
            uid = str(ds.SeriesInstanceUID)
            seen.setdefault(
                uid,
                SeriesRef(
                    study_uid,
                    uid,
                    str(ds.get("Modality", "")) or None,
                    int(count) if count not in (None, "") else None,
                ),
            )
    return list(seen.values())


def list_instances(
    endpoint: DimseEndpoint, study_uid: str, series_uid: str, policy: RetryPolicy = DEFAULT_POLICY
) -> list[InstanceRef]:
    keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
    found = _find(endpoint, _identifier("IMAGE", keys, ["SOPInstanceUID", "SOPClassUID"]), policy)
    return [
        InstanceRef(study_uid, series_uid, str(ds.SOPInstanceUID), str(ds.get("SOPClassUID", "")))
        for ds in found
    ]
