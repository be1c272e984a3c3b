"""What the user typed, as a location: a local path, or a URL on object storage.

Why a parser of its own: a mistyped URL (``s3:/bucket``, ``s4://x``, ``s3://``) must be
one line and exit 2 before anything starts, never an fsspec traceback, and a ``file://``
URL must be exactly the local path it names so that local runs keep their bytes and rules.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from deid.errors import UserError

#: URL scheme -> fsspec protocol (and the extra that installs it).
SCHEMES = {
    "s3": ("s3", "s3"),
    "s3a": ("s3", "s3"),
    "gs": ("gcs", "gcs"),
    "gcs": ("gcs", "gcs"),
    "az": ("abfs", "azure"),
    "abfs": ("abfs", "azure"),
    "abfss": ("abfs", "azure"),
}
#: Schemes another part of deid handles (PACS sources and destinations): not storage.
OTHER_SCHEMES = ("dicomweb", "dicomweb+http", "dicomweb+https", "dimse", "http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: S3 bucket names; GCS and Azure containers are close enough for a first check.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Location:
    """A parsed location: ``protocol`` "file" with ``path`` absolute, or an fsspec
    protocol with ``bucket`` and ``key`` (no leading or trailing slash)."""

    protocol: str
    path: str
    bucket: str = ""
    key: str = ""
    scheme: str = ""

    @property
    def is_remote(self) -> bool:
        return self.protocol != "file"

    @property
    def url(self) -> str:
        if not self.is_remote:
            return self.path
        return f"{self.scheme}://{self.bucket}" + (f"/{self.key}" if self.key else "")


def scheme_of(text: str) -> str | None:
    """The URL scheme of ``text`` (lower case), or None for a plain path."""
    match = _SCHEME.match(text)
    if not match or len(match.group(1)) == 1:  # "C:" is a drive, not a scheme
        return None
    return match.group(1).lower()


def is_url(text: str) -> bool:
    """True for an object-storage URL (``file://`` is a local path, not a URL here)."""
    if not isinstance(text, str):
        return False
    scheme = scheme_of(text)
    return scheme is not None and scheme in SCHEMES


def parse_location(text: str, what: str = "location") -> Location:
    """``text`` as a :class:`Location`; a URL deid cannot use is a :class:`UserError`."""
    scheme = scheme_of(text)
    if scheme is None:
        return Location("file", os.path.abspath(text))
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise UserError(f"{what} {text}: a file:// URL names a local path (file:///PATH)")
        if not parts.path:
            raise UserError(f"{what} {text}: no path after file://")
        return Location("file", os.path.abspath(unquote(parts.path)))
    if scheme not in SCHEMES:
        known = "s3://, gs://, az://, file:// or a path"
        if scheme in OTHER_SCHEMES:
            raise UserError(f"{what} {text}: not a storage URL here (give {known})")
        raise UserError(f"{what} {text}: unknown URL scheme {scheme}:// (give {known})")
    rest = text[len(scheme) + 1 :]
    if not rest.startswith("//"):
        raise UserError(f"{what} {text}: write {scheme}://BUCKET/PREFIX")
    bucket, _, key = rest[2:].partition("/")
    bucket_name = bucket.split("@", 1)[0]  # az://container@account
    if not bucket_name:
        raise UserError(f"{what} {text}: no bucket name (write {scheme}://BUCKET/PREFIX)")
    if not _BUCKET.match(bucket_name):
        raise UserError(f"{what} {text}: {bucket_name!r} is not a valid bucket name")
    key = key.strip("/")
    if any(part in (".", "..") for part in key.split("/")):
        raise UserError(f"{what} {text}: '.' and '..' are not allowed in an object key")
    protocol = SCHEMES[scheme][0]
    return Location(protocol, f"{bucket}/{key}" if key else bucket, bucket, key, scheme)


def inside(child: str, parent: str) -> bool:
    """``child`` is ``parent`` or below it, comparing URLs (or absolute paths) by text."""
    child, parent = child.rstrip("/"), parent.rstrip("/")
    return child == parent or child.startswith(parent + "/")
