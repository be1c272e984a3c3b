"""Endpoint URLs and --query keys: what parses, and the one-line usage error for the rest."""

from __future__ import annotations

import pytest

from deid.errors import UserError
from deid.pacs.query import parse_query
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint, parse_endpoint


def test_dicomweb_urls():
    ep = parse_endpoint("dicomweb+https://pacs.example.org/dicom-web/")
    assert ep == DicomwebEndpoint("https://pacs.example.org/dicom-web", "pacs.example.org")
    ep = parse_endpoint("dicomweb+http://127.0.0.1:8042/dicom-web")
    assert ep.base_url == "http://127.0.0.1:8042/dicom-web"
    assert str(ep) == "dicomweb+http://127.0.0.1:8042/dicom-web"


def test_dimse_urls():
    assert parse_endpoint("dimse://ORTHANC@10.0.0.5:4242") == DimseEndpoint(
        "ORTHANC", "10.0.0.5", 4242
    )
    assert parse_endpoint("dimse://MY AE@[::1]:104").host == "::1"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://host/dicom-web", "not a PACS URL"),
        ("dicomweb+ftp://host/x", "not a PACS URL"),
        ("dicomweb+https:///dicom-web", "no host"),
        ("dicomweb+https://host:99999/x", "port"),
        ("dicomweb+https://host/x?StudyDate=2024", "--query"),
        ("dimse://host:104", "no called AE title"),
        ("dimse://@host:104", "AE title"),
        ("dimse://AAAAAAAAAAAAAAAAAAAA@host:104", "AE title"),
        ("dimse://AE@host", "host and port"),
        ("dimse://AE@host:0", "port"),
    ],
)
def test_bad_urls_are_one_line_usage_errors(url, says):
    with pytest.raises(UserError) as raised:
        parse_endpoint(url)
    message = str(raised.value)
    assert says in message and "\n" not in message and raised.value.exit_code == 2


def test_credentials_in_a_url_are_refused_and_not_repeated():
    with pytest.raises(UserError) as raised:
        parse_endpoint("dicomweb+https://alice:hunter2@pacs/dicom-web")
    assert "hunter2" not in str(raised.value) and "netrc" in str(raised.value)


def test_query_levels_and_repeated_uids():
    q = parse_query("ModalitiesInStudy=CT&StudyDate=20240101-20241231&Modality=CT")
    assert q.study_keys == {"ModalitiesInStudy": "CT", "StudyDate": "20240101-20241231"}
    assert q.series_keys == {"Modality": "CT"}
    q = parse_query("StudyInstanceUID=1.2.3&StudyInstanceUID=1.2.4")
    assert q.study_uids == ("1.2.3", "1.2.4") and q.study_keys == {}
    assert parse_query(None) == parse_query("")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("StudyDate", "KEY=VALUE"),
        ("NotAKeyword=1", "not a DICOM keyword"),
        ("StudyDate=1&StudyDate=2", "twice"),
        ("StudyInstanceUID=abc", "not a UID"),
        ("ReferencedStudySequence=1", "sequence"),
    ],
)
def test_bad_queries(text, says):
    with pytest.raises(UserError, match=says):
        parse_query(text)
