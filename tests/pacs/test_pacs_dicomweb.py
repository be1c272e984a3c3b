"""QIDO-RS, WADO-RS and STOW-RS against the real Orthanc pair (and a throwaway one)."""

from __future__ import annotations

import logging
from io import BytesIO

import pydicom
import pytest
from pacs_helpers import FAST, fresh_instance
from pacs_servers import free_port

from deid.pacs import qido, stow, wado
from deid.pacs.failures import PacsError
from deid.pacs.query import parse_query
from deid.pacs.urls import parse_endpoint


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch, tmp_path):
    for name in ("SOURCE", "DEST"):
        for what in ("TOKEN", "USERNAME", "PASSWORD"):
            monkeypatch.delenv(f"DEID_{name}_{what}", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def _everything(endpoint):
    refs = []
    for study in qido.list_studies(endpoint, parse_query(None)):
        for series in qido.list_series(endpoint, study.study_uid):
            refs += qido.list_instances(endpoint, study.study_uid, series.series_uid)
    return refs


def test_listing_finds_every_stored_instance(clinical):
    endpoint = parse_endpoint(clinical.dicomweb_url)
    refs = _everything(endpoint)
    assert {r.sop_uid for r in refs} == clinical.instance_uids()
    assert all(r.sop_class_uid for r in refs)


def test_query_keys_filter_studies(clinical):
    endpoint = parse_endpoint(clinical.dicomweb_url)
    every = qido.list_studies(endpoint, parse_query(None))
    ct = qido.list_studies(endpoint, parse_query("ModalitiesInStudy=CT"))
    assert 0 < len(ct) < len(every)
    for study in ct:
        modalities = {s.modality for s in qido.list_series(endpoint, study.study_uid)}
        assert "CT" in modalities
    picked = [every[0].study_uid, every[-1].study_uid]
    query = parse_query("&".join(f"StudyInstanceUID={u}" for u in picked))
    assert [s.study_uid for s in qido.list_studies(endpoint, query)] == picked
    none = qido.list_studies(endpoint, parse_query("StudyDate=19000101-19000102"))
    assert none == []


def test_fetch_returns_the_stored_part10_bytes(clinical):
    endpoint = parse_endpoint(clinical.dicomweb_url)
    ref = _everything(endpoint)[0]
    data = wado.fetch_instance(endpoint, ref)
    assert data[128:132] == b"DICM"
    ds = pydicom.dcmread(BytesIO(data))
    assert (str(ds.SOPInstanceUID) == ref.sop_uid and "PixelData" in ds) or "SOPClassUID" in ds


def test_send_reports_each_instance_and_the_destination_holds_them(research_env):
    endpoint = parse_endpoint(research_env.dicomweb_url)
    sent = [fresh_instance() for _ in range(3)]
    results = stow.send_instances(endpoint, [data for data, _ in sent])
    assert [(r.sop_uid, r.stored, r.status) for r in results] == [
        (uid, True, "stored") for _, uid in sent
    ]
    assert {uid for _, uid in sent} <= research_env.instance_uids()


def test_wrong_credentials_are_a_401_without_the_secret(research, monkeypatch, caplog):
    monkeypatch.setenv("DEID_DEST_USERNAME", "deid-research")
    monkeypatch.setenv("DEID_DEST_PASSWORD", "not-the-password-xyz")
    endpoint = parse_endpoint(research.dicomweb_url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PacsError) as raised:
        stow.send_instances(endpoint, [fresh_instance()[0]], FAST)
    assert "401" in raised.value.reason and not raised.value.transient
    assert "not-the-password-xyz" not in raised.value.reason + caplog.text
    with pytest.raises(PacsError, match="401"):  # no credentials at all: the source side
        qido.list_studies(endpoint, parse_query(None), FAST)


def test_bearer_token_refused_by_basic_only_server(research, monkeypatch):
    monkeypatch.setenv("DEID_SOURCE_TOKEN", "bearer-secret-abc")
    with pytest.raises(PacsError) as raised:
        qido.list_studies(parse_endpoint(research.dicomweb_url), parse_query(None), FAST)
    assert "401" in str(raised.value) and "bearer-secret-abc" not in str(raised.value)


def test_refused_connection_is_retried_then_transient():
    endpoint = parse_endpoint(f"dicomweb+http://127.0.0.1:{free_port()}/dicom-web")
    with pytest.raises(PacsError) as raised:
        qido.list_studies(endpoint, parse_query(None), FAST)
    assert raised.value.transient and "after 3 attempts" in raised.value.reason


def test_server_stopped_mid_way(throwaway):
    endpoint = parse_endpoint(throwaway.dicomweb_url)
    data, uid = fresh_instance()
    assert stow.send_instances(endpoint, [data])[0].stored
    refs = _everything(endpoint)
    assert [r.sop_uid for r in refs] == [uid]
    throwaway.stop()
    with pytest.raises(PacsError) as fetch_error:
        wado.fetch_instance(endpoint, refs[0], FAST)
    with pytest.raises(PacsError) as send_error:
        stow.send_instances(endpoint, [fresh_instance()[0]], FAST)
    assert fetch_error.value.transient and send_error.value.transient
    assert "connection failed" in send_error.value.reason


def test_unknown_instance_is_a_permanent_404(clinical):
    """A 404 is not retried (5xx is: see test_pacs_probe_retry)."""
    endpoint = parse_endpoint(clinical.dicomweb_url)
    ref = _everything(endpoint)[0]
    missing = type(ref)(ref.study_uid, ref.series_uid, "1.2.3.4.5.6.7", ref.sop_class_uid)
    with pytest.raises(PacsError) as raised:
        wado.fetch_instance(endpoint, missing, FAST)
    assert not raised.value.transient and "404" in raised.value.reason
