"""The fixture itself: both servers answer, on their own ports, with their own AE titles."""

from __future__ import annotations

import requests


def test_clinical_holds_the_example_export(clinical):
    uids = clinical.instance_uids()
    assert len(uids) >= 10  # the export's DICOM images, SR and PDF


def test_research_refuses_without_credentials(research):
    assert requests.get(research.http_url + "/dicom-web/studies", timeout=5).status_code == 401
    reply = requests.get(research.http_url + "/dicom-web/studies", auth=research.auth, timeout=5)
    assert reply.status_code == 200


def test_servers_are_distinct(clinical, research):
    ports = {clinical.http_port, clinical.dicom_port, research.http_port, research.dicom_port}
    assert len(ports) == 4
    assert clinical.aet != research.aet


def test_throwaway_stops_for_good(throwaway):
    throwaway.stop()
    try:
        requests.get(throwaway.http_url + "/system", timeout=2)
    except requests.ConnectionError:
        return
    raise AssertionError("Orthanc still answers after stop()")
