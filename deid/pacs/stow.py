"""STOW-RS send with the destination's answer for every instance.

The STOW response lists stored instances (ReferencedSOPSequence) and failed ones
(FailedSOPSequence, with a FailureReason); an instance in neither is reported as not stored:
nothing counts as sent unless the destination said so.
"""

from __future__ import annotations

from io import BytesIO

import pydicom
from dicomweb_client.api import DICOMwebClient

from deid.pacs.dicomweb import dicomweb_client
from deid.pacs.refs import SendResult
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint


def send_instances(
    endpoint: DicomwebEndpoint,
    instances: list[bytes],
    policy: RetryPolicy = DEFAULT_POLICY,
    client: DICOMwebClient | None = None,
) -> list[SendResult]:
    """POST the Part 10 objects in one STOW-RS request; one SendResult each, in order.
    A caller sending many batches passes one ``client`` (one HTTP session)."""
    if not instances:
        return []
    datasets = [pydicom.dcmread(BytesIO(data)) for data in instances]
    uids = [str(ds.SOPInstanceUID) for ds in datasets]
    client = client or dicomweb_client(endpoint, "dest")
    answer = with_retry(lambda: client.store_instances(datasets), f"STOW-RS to {endpoint}", policy)
    referenced = answer.get("ReferencedSOPSequence", [])
    stored = {str(item.ReferencedSOPInstanceUID) for item in referenced}
    failed = {
        str(item.ReferencedSOPInstanceUID): int(item.get("FailureReason", 0xC000))
        for item in answer.get("FailedSOPSequence", [])
    }
    results = []
    for uid in uids:
        if uid in failed:
            code = f"0x{failed[uid]:04X}"
            results.append(SendResult(uid, False, f"failed {code}", f"STOW-RS failure {code}"))
        elif uid in stored:
            results.append(SendResult(uid, True, "stored"))
        else:
            results.append(SendResult(uid, False, "absent", "not in the STOW-RS response"))
    return results
