"""DICOMweb over HTTPS (``dicomweb+https://``) to and from the real Orthanc pair, each
behind a TLS proxy with a certificate signed by the test's own CA, which deid is told to
trust with ``DEID_CA_BUNDLE``; a CA it was not told of is a one-line usage error."""

from __future__ import annotations

import shutil

import pytest
from pacs_run import RESEARCH_ENV, deid_env, ledger_rows, run_deid
from test_pacs_tls import _certificates
from tls_proxy import TlsProxy


@pytest.fixture
def https_pair(tmp_path, orthanc_pair):  # orthanc_pair: skips without Orthanc
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificates")
    clinical, research = orthanc_pair
    research.delete_all()
    certs = _certificates(tmp_path / "certs")
    proxies = [
        TlsProxy(server.http_port, certs / "server.pem", certs / "server.key")
        for server in (clinical, research)
    ]
    urls = [f"dicomweb+https://127.0.0.1:{proxy.port}/dicom-web" for proxy in proxies]
    try:
        yield clinical, research, urls, certs
    finally:
        for proxy in proxies:
            proxy.close()
        research.delete_all()


def test_dicomweb_over_https_both_ways(tmp_path, https_pair):
    clinical, research, (source, destination), certs = https_pair
    env = deid_env(tmp_path, DEID_CA_BUNDLE=str(certs / "ca.pem"), **RESEARCH_ENV)
    ledger = tmp_path / "ledger"
    done = run_deid(
        tmp_path, "run", "basic", source, "--out", destination, "--ledger", str(ledger),
        "--workers", "1", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(ledger)
    pulled = {r["input_path"].rsplit("/instances/", 1)[1] for r in rows}
    assert pulled == clinical.instance_uids()
    assert all(r["input_path"].startswith(source + "/studies/") for r in rows)
    written = {r["sop_instance_uid_out"] for r in rows if r["status"] == "written"}
    assert written and research.instance_uids() == written


def test_an_untrusted_certificate_is_one_line(tmp_path, https_pair):
    _clinical, _research, (source, _destination), _certs = https_pair
    env = deid_env(tmp_path)  # the system's trust store does not know the test's CA
    out = tmp_path / "out"
    done = run_deid(tmp_path, "run", "basic", source, "--out", str(out), env=env)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "certificate verify failed" in done.stderr and "DEID_CA_BUNDLE" in done.stderr
    assert not out.exists() and not (tmp_path / "out.ledger").exists()
