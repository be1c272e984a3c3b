"""A dicomweb-client for an endpoint: credentials and CA bundle from ``auth``, bounded timeouts."""

from __future__ import annotations

import requests
from dicomweb_client.api import DICOMwebClient

from deid.pacs.auth import http_session
from deid.pacs.urls import DicomwebEndpoint

TIMEOUT_S = (5.0, 60.0)  # connect, read


def dicomweb_client(
    endpoint: DicomwebEndpoint, role: str, session: requests.Session | None = None
) -> DICOMwebClient:
    """``session``: one the caller keeps (and reuses for its own requests), else a new one."""
    client = DICOMwebClient(
        endpoint.base_url,
        session=session or http_session(endpoint.host, role),
        timeout=TIMEOUT_S,
    )
    client.set_http_retry_params(retry=False)  # deid.pacs.retry is the one retry loop
    return client
