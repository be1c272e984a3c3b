"""WADO-RS fetch of one instance as its Part 10 bytes, unchanged (transfer syntax as stored).

dicomweb-client's public ``retrieve_instance`` parses the part into a Dataset; deid wants the
bytes the archive holds (its own reader sniffs and parses them, fail-closed), so the GET asks
for ``transfer-syntax=*`` on the client's session and :mod:`deid.pacs.multipart` splits the
answer. A caller fetching many instances passes one ``session`` (one connection pool).
"""

from __future__ import annotations

import requests

from deid.pacs.auth import http_session
from deid.pacs.dicomweb import TIMEOUT_S
from deid.pacs.failures import PacsError
from deid.pacs.multipart import MultipartError, split_parts
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint

ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def fetch_instance(
    endpoint: DicomwebEndpoint,
    ref: InstanceRef,
    policy: RetryPolicy = DEFAULT_POLICY,
    session: requests.Session | None = None,
) -> bytes:
    session = session or http_session(endpoint.host, "source")
    url = (
        f"{endpoint.base_url}/studies/{ref.study_uid}/series/{ref.series_uid}"
        f"/instances/{ref.sop_uid}"
    )

    def call() -> list[bytes]:
        response = session.get(url, headers={"Accept": ACCEPT}, timeout=TIMEOUT_S)
        response.raise_for_status()
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/dicom"):
            return [response.content]  # a server that does not wrap the single part
        try:
            return split_parts(response.content, content_type)
        except MultipartError as error:
            raise PacsError(f"WADO-RS instance {ref.sop_uid} at {endpoint}: {error}") from None

    what = f"WADO-RS instance {ref.sop_uid} at {endpoint}"
    parts = with_retry(call, what, policy)
    if len(parts) != 1 or not parts[0]:
        raise PacsError(f"{what}: expected one DICOM object, got {len(parts)} part(s)")
    return parts[0]
