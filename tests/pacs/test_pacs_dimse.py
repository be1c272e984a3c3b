"""C-FIND, C-GET and C-STORE against the real Orthanc pair (and a throwaway one)."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pacs_helpers import FAST, fresh_instance
from pacs_servers import free_port

from deid.pacs import cfind, cget, cstore
from deid.pacs.failures import PacsError
from deid.pacs.query import parse_query
from deid.pacs.urls import parse_endpoint


def _everything(endpoint):
    refs = []
    for study in cfind.list_studies(endpoint, parse_query(None)):
        for series in cfind.list_series(endpoint, study.study_uid):
            refs += cfind.list_instances(endpoint, study.study_uid, series.series_uid)
    return refs


def test_cfind_lists_every_stored_instance(clinical):
    refs = _everything(parse_endpoint(clinical.dimse_url))
    assert {r.sop_uid for r in refs} == clinical.instance_uids()
    assert all(r.sop_class_uid for r in refs)


def test_cfind_query_keys(clinical):
    endpoint = parse_endpoint(clinical.dimse_url)
    every = cfind.list_studies(endpoint, parse_query(None))
    ct = cfind.list_studies(endpoint, parse_query("ModalitiesInStudy=CT"))
    assert 0 < len(ct) < len(every)
    query = parse_query(f"StudyInstanceUID={every[0].study_uid}")
    assert [s.study_uid for s in cfind.list_studies(endpoint, query)] == [every[0].study_uid]


def test_cget_fetches_every_instance_as_part10(clinical):
    endpoint = parse_endpoint(clinical.dimse_url)
    for ref in _everything(endpoint):
        data = cget.fetch_instance(endpoint, ref)
        assert data[128:132] == b"DICM"
        assert str(pydicom.dcmread(BytesIO(data)).SOPInstanceUID) == ref.sop_uid


def test_cstore_reports_each_status_and_the_destination_holds_them(research):
    endpoint = parse_endpoint(research.dimse_url)
    sent = [fresh_instance() for _ in range(3)]
    results = cstore.send_instances(endpoint, [data for data, _ in sent])
    assert [(r.sop_uid, r.stored, r.status) for r in results] == [
        (uid, True, "0x0000") for _, uid in sent
    ]
    assert {uid for _, uid in sent} <= research.instance_uids()


def test_unknown_called_ae_title_is_permanent(research):
    endpoint = parse_endpoint(f"dimse://NOBODY@127.0.0.1:{research.dicom_port}")
    with pytest.raises(PacsError) as raised:
        cfind.list_studies(endpoint, parse_query(None), FAST)
    assert "rejected" in raised.value.reason and not raised.value.transient
    results = cstore.send_instances(endpoint, [fresh_instance()[0]], FAST)
    assert not results[0].stored and "rejected" in results[0].reason


def test_refused_association_is_retried_then_transient():
    endpoint = parse_endpoint(f"dimse://ANY@127.0.0.1:{free_port()}")
    with pytest.raises(PacsError) as raised:
        cfind.list_studies(endpoint, parse_query(None), FAST)
    assert raised.value.transient and "after 3 attempts" in raised.value.reason


def test_server_stopped_mid_way(throwaway):
    endpoint = parse_endpoint(throwaway.dimse_url)
    first = cstore.send_instances(endpoint, [fresh_instance()[0]])
    assert first[0].stored
    ref = _everything(endpoint)[0]
    throwaway.stop()
    with pytest.raises(PacsError) as raised:
        cget.fetch_instance(endpoint, ref, FAST)
    assert raised.value.transient
    results = cstore.send_instances(endpoint, [fresh_instance()[0], fresh_instance()[0]], FAST)
    assert [r.stored for r in results] == [False, False]
    assert all("connection refused" in (r.reason or "") for r in results)
