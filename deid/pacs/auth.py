"""Credentials and TLS trust for an endpoint, from the environment or a netrc file.

Role ``source`` reads ``DEID_SOURCE_TOKEN`` (bearer) or ``DEID_SOURCE_USERNAME`` and
``DEID_SOURCE_PASSWORD`` (basic); role ``dest`` the same with ``DEID_DEST_``. Without them, the
netrc file (``$NETRC`` or ``~/.netrc``) entry for the host. ``DEID_CA_BUNDLE`` (or
``REQUESTS_CA_BUNDLE``) names the CA bundle that TLS is verified against. The secrets live only
in the session object: ``Credentials`` hides them from ``repr``.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from pathlib import Path

import requests

from deid.errors import UserError

ROLES = {"source": "DEID_SOURCE_", "dest": "DEID_DEST_"}


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    origin: str = "none"  # where they came from, for messages: "environment", "netrc", "none"


def credentials_for(host: str, role: str) -> Credentials:
    prefix = ROLES[role]
    token = os.environ.get(prefix + "TOKEN")
    if token:
        return Credentials(token=token, origin="environment")
    user, password = os.environ.get(prefix + "USERNAME"), os.environ.get(prefix + "PASSWORD")
    if user or password:
        if not (user and password):
            raise UserError(f"{prefix}USERNAME and {prefix}PASSWORD must be set together")
        return Credentials(username=user, password=password, origin="environment")
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if path.is_file():
        try:
            entry = netrc.netrc(str(path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as error:
            raise UserError(f"{path}: not a readable netrc file ({type(error).__name__})") from None
        if entry and entry[0] and entry[2]:
            return Credentials(username=entry[0], password=entry[2], origin="netrc")
    return Credentials()


def ca_bundle() -> str | None:
    path = os.environ.get("DEID_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE")
    if path and not Path(path).is_file():
        raise UserError(f"DEID_CA_BUNDLE {path}: no such file")
    return path


def http_session(host: str, role: str) -> requests.Session:
    """A requests session carrying the endpoint's credentials and CA bundle (never the URL)."""
    credentials = credentials_for(host, role)
    session = requests.Session()
    session.trust_env = False  # no ambient netrc/proxy: only what this module chose
    if credentials.token:
        session.headers["Authorization"] = f"Bearer {credentials.token}"
    elif credentials.username:
        session.auth = (credentials.username, credentials.password or "")
    bundle = ca_bundle()
    if bundle:
        session.verify = bundle
    return session
