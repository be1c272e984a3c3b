"""The pre-flight probe's usage errors, and the retry loop on statuses Orthanc cannot be made
to send (HTTP 503, C-STORE Out of Resources from a real pynetdicom Storage SCP)."""

from __future__ import annotations

import pytest
import requests
from pacs_helpers import FAST, fresh_instance
from pacs_servers import free_port
from pynetdicom import AE, AllStoragePresentationContexts, evt

from deid.errors import UserError
from deid.pacs import cstore
from deid.pacs.failures import PacsError
from deid.pacs.probe import probe
from deid.pacs.retry import with_retry
from deid.pacs.urls import parse_endpoint


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch, tmp_path):
    for name in ("SOURCE", "DEST"):
        for what in ("TOKEN", "USERNAME", "PASSWORD"):
            monkeypatch.delenv(f"DEID_{name}_{what}", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def test_probe_passes_on_answering_servers(clinical, research_env):
    probe(parse_endpoint(clinical.dicomweb_url), "source")
    probe(parse_endpoint(clinical.dimse_url), "source")
    probe(parse_endpoint(research_env.dicomweb_url), "dest")


@pytest.mark.parametrize("case", ["401", "unknown-aet", "refused-http", "refused-dimse"])
def test_probe_usage_errors(case, research, monkeypatch):
    monkeypatch.setenv("DEID_DEST_USERNAME", "deid-research")
    monkeypatch.setenv("DEID_DEST_PASSWORD", "wrong-password-q")
    url = {
        "401": research.dicomweb_url,
        "unknown-aet": f"dimse://NOBODY@127.0.0.1:{research.dicom_port}",
        "refused-http": f"dicomweb+http://127.0.0.1:{free_port()}/dicom-web",
        "refused-dimse": f"dimse://ANY@127.0.0.1:{free_port()}",
    }[case]
    with pytest.raises(UserError) as raised:
        probe(parse_endpoint(url), "dest")
    message = str(raised.value)
    assert raised.value.exit_code == 2 and "\n" not in message
    assert "wrong-password-q" not in message
    assert {"401": "401", "unknown-aet": "rejected"}.get(case, "attempts") in message


def _http_error(code: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = code
    response.reason = "Service Unavailable" if code == 503 else "Not Found"
    return requests.HTTPError(response=response)


def test_retry_recovers_from_503_and_gives_up_on_404():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _http_error(503)
        return "ok"

    assert with_retry(flaky, "GET x", FAST) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(PacsError) as raised:
        with_retry(
            lambda: calls.append(1) or (_ for _ in ()).throw(_http_error(404)), "GET x", FAST
        )
    assert len(calls) == 1 and not raised.value.transient and "HTTP 404" in raised.value.reason
    with pytest.raises(PacsError) as raised:
        with_retry(lambda: (_ for _ in ()).throw(_http_error(503)), "GET x", FAST)
    assert raised.value.transient and "HTTP 503" in raised.value.reason


@pytest.fixture
def busy_scp():
    """A real Storage SCP that answers Out of Resources (0xA700) to the first two C-STOREs."""
    answers = [0xA700, 0xA700]
    stored: list[str] = []

    def on_store(event):
        if answers:
            return answers.pop(0)
        stored.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    ae = AE(ae_title="BUSY")
    ae.supported_contexts = AllStoragePresentationContexts
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        yield f"dimse://BUSY@127.0.0.1:{port}", answers, stored
    finally:
        server.shutdown()


def test_cstore_out_of_resources_is_retried(busy_scp):
    url, _answers, stored = busy_scp
    data, uid = fresh_instance()
    results = cstore.send_instances(parse_endpoint(url), [data], FAST)
    assert results[0].stored and results[0].status == "0x0000" and stored == [uid]


def test_cstore_out_of_resources_spent_is_a_transient_failure(busy_scp):
    url, answers, stored = busy_scp
    answers.extend([0xA700] * 5)
    results = cstore.send_instances(parse_endpoint(url), [fresh_instance()[0]], FAST)
    assert not results[0].stored and "0xA700" in results[0].reason and stored == []


def test_cstore_failure_status_is_not_retried_and_not_stored(busy_scp):
    url, answers, stored = busy_scp
    answers[:] = [0xC211, 0x0000]  # a failure for the first, success for the second instance
    sent = [fresh_instance(), fresh_instance()]
    results = cstore.send_instances(parse_endpoint(url), [data for data, _ in sent], FAST)
    assert [(r.stored, r.status) for r in results] == [(False, "0xC211"), (True, "0x0000")]
    assert results[0].reason == "C-STORE status 0xC211" and stored == []
