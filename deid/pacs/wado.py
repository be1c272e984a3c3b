"""WADO-RS fetch of one instance as its Part 10 bytes, unchanged (transfer syntax as stored).

dicomweb-client's public ``retrieve_instance`` parses the part into a Dataset; deid wants the
bytes the archive holds (its own reader sniffs and parses them, fail-closed), so this uses the
client's multipart reader on the instance URL with ``transfer-syntax=*``.
"""

from __future__ import annotations

from dicomweb_client.web import _Transaction

from deid.pacs.dicomweb import dicomweb_client
from deid.pacs.errors import PacsError
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint

MEDIA = (("application/dicom", "*"),)


def fetch_instance(
    endpoint: DicomwebEndpoint, ref: InstanceRef, policy: RetryPolicy = DEFAULT_POLICY
) -> bytes:
    client = dicomweb_client(endpoint, "source")
    url = client._get_instances_url(
        _Transaction.RETRIEVE, ref.study_uid, ref.series_uid, ref.sop_uid
    )

    def call() -> list[bytes]:
        return list(client._http_get_multipart(url, media_types=MEDIA))

    parts = with_retry(call, f"WADO-RS instance {ref.sop_uid} at {endpoint}", policy)
    if len(parts) != 1 or b"DICM" not in parts[0][:132]:
        raise PacsError(
            f"WADO-RS instance {ref.sop_uid} at {endpoint}: expected one Part 10 object, "
            f"got {len(parts)} part(s)"
        )
    return parts[0]
