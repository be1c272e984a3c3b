"""DIMSE over TLS (``dimse+tls://``) against a real Orthanc with DICOM TLS on: a CA and a
server certificate made with openssl for the test, deid trusting that CA (DEID_CA_BUNDLE)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pacs_run import deid_env, ledger_rows, run_deid
from pacs_servers import OrthancServer


def _certificates(folder):
    """A CA and a certificate for 127.0.0.1 (subjectAltName IP) signed by it."""
    folder.mkdir()
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=folder)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=deid test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    return folder


@pytest.fixture
def tls_server(tmp_path, orthanc_pair, example_files):  # orthanc_pair: skips without Orthanc
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificates")
    certs = _certificates(tmp_path / "certs")
    server = OrthancServer(
        "tls",
        "SECURE",
        tmp_path / "orthanc",
        extra_config={
            "DicomTlsEnabled": True,
            "DicomTlsCertificate": str(certs / "server.pem"),
            "DicomTlsPrivateKey": str(certs / "server.key"),
            "DicomTlsTrustedCertificates": str(certs / "ca.pem"),
            "DicomTlsRemoteCertificateRequired": False,
        },
    )
    try:
        server.start()
        for path in example_files:
            server.upload(path.read_bytes())
        yield server, certs
    finally:
        server.stop()


def test_dimse_over_tls_to_a_folder(tmp_path, tls_server):
    server, certs = tls_server
    env = deid_env(tmp_path, DEID_CA_BUNDLE=str(certs / "ca.pem"))
    url = f"dimse+tls://SECURE@127.0.0.1:{server.dicom_port}"
    out = tmp_path / "out"
    done = run_deid(tmp_path, "run", "basic", url, "--out", str(out), "--workers", "1", env=env)
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(tmp_path / "out.ledger")
    pulled = {r["input_path"].rsplit("/instances/", 1)[1] for r in rows}
    assert pulled == server.instance_uids()
    assert all(r["input_path"].startswith(url) for r in rows)
    assert len(list(out.rglob("*.dcm"))) == sum(r["status"] == "written" for r in rows) > 0


@pytest.mark.parametrize("case", ["plain-to-tls", "untrusted"])
def test_tls_mismatch_is_a_usage_error(case, tmp_path, tls_server):
    server, _certs = tls_server
    scheme = "dimse" if case == "plain-to-tls" else "dimse+tls"
    env = deid_env(tmp_path)  # "untrusted": the system's trust store does not know the CA
    url = f"{scheme}://SECURE@127.0.0.1:{server.dicom_port}"
    done = run_deid(tmp_path, "run", "basic", url, "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "o.ledger").exists()
