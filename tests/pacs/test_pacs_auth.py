"""Credentials from the environment or netrc; secrets never in repr; CA bundle checked."""

from __future__ import annotations

import pytest

from deid.errors import UserError
from deid.pacs.auth import ca_bundle, credentials_for, http_session


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for role in ("SOURCE", "DEST"):
        for what in ("TOKEN", "USERNAME", "PASSWORD"):
            monkeypatch.delenv(f"DEID_{role}_{what}", raising=False)
    monkeypatch.delenv("DEID_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "absent-netrc"))


def test_bearer_token_from_environment(monkeypatch):
    monkeypatch.setenv("DEID_SOURCE_TOKEN", "tok-123")
    session = http_session("pacs", "source")
    assert session.headers["Authorization"] == "Bearer tok-123"
    assert "tok-123" not in repr(credentials_for("pacs", "source"))
    assert credentials_for("pacs", "dest").origin == "none"  # roles are apart


def test_basic_from_environment_needs_both(monkeypatch):
    monkeypatch.setenv("DEID_DEST_USERNAME", "bob")
    with pytest.raises(UserError, match="together"):
        credentials_for("pacs", "dest")
    monkeypatch.setenv("DEID_DEST_PASSWORD", "pw-xyz")
    assert http_session("pacs", "dest").auth == ("bob", "pw-xyz")
    assert "pw-xyz" not in repr(credentials_for("pacs", "dest"))


def test_netrc_by_host(monkeypatch, tmp_path):
    rc = tmp_path / "netrc"
    rc.write_text("machine pacs.example.org login carol password pw-netrc\n")
    rc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(rc))
    creds = credentials_for("pacs.example.org", "source")
    assert (creds.username, creds.password, creds.origin) == ("carol", "pw-netrc", "netrc")
    assert credentials_for("other.example.org", "source").origin == "none"


def test_ca_bundle(monkeypatch, tmp_path):
    assert ca_bundle() is None
    monkeypatch.setenv("DEID_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(UserError, match="no such file"):
        ca_bundle()
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("DEID_CA_BUNDLE", str(pem))
    assert http_session("pacs", "source").verify == str(pem)
