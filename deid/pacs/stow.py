"""STOW-RS send with the destination's answer for every instance.

The Part 10 bytes deid wrote (and ``--verify`` checked) are posted as they are, in one
``multipart/related; type="application/dicom"`` request per batch: dicomweb-client's
``store_instances`` takes Datasets and encodes them again, which costs a parse and a write
per instance and would send bytes other than the ones checked.

The STOW response lists stored instances (ReferencedSOPSequence) and failed ones
(FailedSOPSequence, with a FailureReason); an instance in neither is reported as not stored:
nothing counts as sent unless the destination said so.
"""

from __future__ import annotations

import secrets
from io import BytesIO

import pydicom
import requests
from pydicom.dataset import Dataset

from deid.pacs.auth import http_session
from deid.pacs.dicomweb import TIMEOUT_S
from deid.pacs.failures import PacsError
from deid.pacs.refs import SendResult
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint


def _sop_uid(data: bytes) -> str:
    ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
    return str(ds.get("SOPInstanceUID", ""))


def _body(instances: list[bytes], boundary: str) -> bytes:
    parts = []
    for data in instances:
        parts.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        parts.append(data)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def _post(session: requests.Session, endpoint: DicomwebEndpoint, instances: list[bytes]):
    boundary = secrets.token_hex(16)
    response = session.post(
        f"{endpoint.base_url}/studies",
        data=_body(instances, boundary),
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=TIMEOUT_S,
    )
    if response.status_code == 409 and response.content:
        return response  # some instances failed: the body says which
    response.raise_for_status()
    return response


def send_instances(
    endpoint: DicomwebEndpoint,
    instances: list[bytes],
    policy: RetryPolicy = DEFAULT_POLICY,
    session: requests.Session | None = None,
    uids: list[str] | None = None,
) -> list[SendResult]:
    """POST the Part 10 objects in one STOW-RS request; one SendResult each, in order.
    A caller sending many batches passes one ``session``; ``uids`` are the instances' SOP
    Instance UIDs when the caller knows them (else read from the bytes)."""
    if not instances:
        return []
    known = uids or [""] * len(instances)
    uids = [uid or _sop_uid(data) for uid, data in zip(known, instances, strict=True)]
    session = session or http_session(endpoint.host, "dest")
    response = with_retry(
        lambda: _post(session, endpoint, instances), f"STOW-RS to {endpoint}", policy
    )
    try:
        answer = Dataset.from_json(response.json()) if response.content else Dataset()
    except ValueError:
        raise PacsError(f"STOW-RS to {endpoint}: the answer is not DICOM JSON") from None
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
