"""WADO-RS fetch of one instance as its Part 10 bytes, unchanged (transfer syntax as stored).

dicomweb-client's public ``retrieve_instance`` parses the part into a Dataset; deid wants the
bytes the archive holds (its own reader sniffs and parses them, fail-closed), so the GET asks
for ``transfer-syntax=*`` and the client's multipart decoder splits the answer.
"""

from __future__ import annotations

import requests

from deid.pacs.dicomweb import TIMEOUT_S, dicomweb_client
from deid.pacs.errors import PacsError
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint

ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def fetch_instance(
    endpoint: DicomwebEndpoint, ref: InstanceRef, policy: RetryPolicy = DEFAULT_POLICY
) -> bytes:
    client = dicomweb_client(endpoint, "source")
    url = (
        f"{endpoint.base_url}/studies/{ref.study_uid}/series/{ref.series_uid}"
        f"/instances/{ref.sop_uid}"
    )

    def call() -> list[bytes]:
        response: requests.Response = client._session.get(
            url, headers={"Accept": ACCEPT}, timeout=TIMEOUT_S
        )
        response.raise_for_status()
        if response.headers.get("Content-Type", "").startswith("application/dicom"):
            return [response.content]  # a server that does not wrap the single part
        return list(client._decode_multipart_message(response, stream=False))

    what = f"WADO-RS instance {ref.sop_uid} at {endpoint}"
    parts = with_retry(call, what, policy)
    if len(parts) != 1 or parts[0][128:132] != b"DICM":
        raise PacsError(f"{what}: expected one Part 10 object, got {len(parts)} part(s)")
    return parts[0]
