"""Split a ``multipart/related`` WADO-RS answer into its parts' bytes (RFC 2046).

deid wants each part as the archive sent it (its own reader sniffs and parses the bytes,
fail-closed), which dicomweb-client only offers through a private method; this is the few
lines that job needs, so no private API of a library is relied on.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class MultipartError(ValueError):
    """The answer is not the multipart message its Content-Type announced."""


def boundary_of(content_type: str) -> bytes:
    match = _BOUNDARY.search(content_type or "")
    if not match or not content_type.lower().startswith("multipart/"):
        raise MultipartError(f"not a multipart answer (Content-Type {content_type[:60]!r})")
    return match.group(1).strip().encode("latin-1")


def split_parts(body: bytes, content_type: str) -> list[bytes]:
    """The bodies of the parts (headers removed), in order."""
    delimiter = b"--" + boundary_of(content_type)
    pieces = body.split(delimiter)
    if len(pieces) < 3:
        raise MultipartError("multipart answer without a closing delimiter")
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):  # the close delimiter: the epilogue follows
            return parts
        _head, sep, content = piece.partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("a multipart part without headers")
        if content.endswith(b"\r\n"):  # the CRLF before the next delimiter belongs to it
            content = content[:-2]
        parts.append(content)
    raise MultipartError("multipart answer without a closing delimiter")
