"""Parse PACS endpoint URLs into typed endpoints, with one-line usage errors.

Credentials never go in the URL: a URL is printed, logged and recorded in the ledger, so
``user:pass@`` in a DICOMweb URL is refused (use the environment or netrc, see ``auth``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from deid.errors import UserError

DICOMWEB_SCHEMES = {"dicomweb+http": "http", "dicomweb+https": "https"}
_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE VR: 16 chars, no backslash


@dataclass(frozen=True)
class DicomwebEndpoint:
    base_url: str  # http(s)://host[:port]/path, what dicomweb-client is given
    host: str

    def __str__(self) -> str:
        return "dicomweb+" + self.base_url


@dataclass(frozen=True)
class DimseEndpoint:
    aet: str  # the called AE title
    host: str
    port: int
    tls: bool = False  # dimse+tls://: the association runs over TLS (PS3.15 Annex B)

    def __str__(self) -> str:
        scheme = "dimse+tls" if self.tls else "dimse"
        return f"{scheme}://{self.aet}@{self.host}:{self.port}"


def looks_like_endpoint(text: str) -> bool:
    return text.startswith(("dicomweb+", "dimse:", "dimse+"))


def parse_endpoint(text: str) -> DicomwebEndpoint | DimseEndpoint:
    """``dicomweb+http(s)://host[:port]/path`` or ``dimse[+tls]://AET@host:port``; UserError
    otherwise."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in DICOMWEB_SCHEMES:
        return _parse_dicomweb(text, DICOMWEB_SCHEMES[scheme])
    if scheme in ("dimse", "dimse+tls"):
        return _parse_dimse(text, tls=scheme == "dimse+tls")
    raise UserError(
        f"{_shown(text)}: not a PACS URL (expected dicomweb+https://host[:port]/path "
        "or dimse://AET@host:port, dimse+tls://AET@host:port)"
    )


def _parse_dicomweb(text: str, http_scheme: str) -> DicomwebEndpoint:
    parts = urlsplit(text)
    if parts.username is not None or parts.password is not None:
        raise UserError(
            f"{_shown(text)}: credentials do not belong in the URL; set DEID_SOURCE_USERNAME/"
            "DEID_SOURCE_PASSWORD (or DEID_DEST_..., or a _TOKEN) or use a netrc file"
        )
    if not parts.hostname:
        raise UserError(f"{_shown(text)}: no host (expected dicomweb+https://host[:port]/path)")
    if parts.query or parts.fragment:
        raise UserError(f"{_shown(text)}: no query in the URL (use --query for matching keys)")
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"{_shown(text)}: the port is not a number from 1 to 65535") from None
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    path = parts.path.rstrip("/")
    return DicomwebEndpoint(base_url=f"{http_scheme}://{netloc}{path}", host=parts.hostname)


def _parse_dimse(text: str, tls: bool = False) -> DimseEndpoint:
    rest = text.split("://", 1)[1]
    usage = f"{_shown(text)}: expected dimse://AET@host:port"
    if "@" not in rest:
        raise UserError(f"{usage} (no called AE title)")
    aet, hostport = rest.rsplit("@", 1)
    if not _AET.match(aet) or aet.strip() == "":
        raise UserError(f"{usage} (the AE title must be 1 to 16 characters, no backslash)")
    match = re.fullmatch(r"(\[[^\]]+\]|[^:/\[\]]+):(\d{1,5})/?", hostport)
    if not match:
        raise UserError(f"{usage} (host and port are required)")
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        raise UserError(f"{usage} (the port must be from 1 to 65535)")
    return DimseEndpoint(aet=aet, host=match.group(1).strip("[]"), port=port, tls=tls)


def _shown(text: str) -> str:
    """The URL as an error may show it: any ``user:password@`` replaced."""
    return re.sub(r"(://)[^/@]*:[^/@]*@", r"\1***@", text)
