"""C-STORE send, one association for a batch, with each instance's status.

0x0000 is stored; 0xB000/0xB007/0xB006 are warnings (stored, coerced); 0xA7xx "Out of
Resources" is transient and retried; anything else fails that instance.
"""

from __future__ import annotations

from io import BytesIO

import pydicom

from deid.pacs.association import associate, new_ae
from deid.pacs.failures import PacsError
from deid.pacs.refs import SendResult
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, TransientError, with_retry
from deid.pacs.urls import DimseEndpoint

WARNINGS = {0xB000, 0xB006, 0xB007}


def _is_out_of_resources(code: int) -> bool:
    return 0xA700 <= code <= 0xA7FF


def send_instances(
    endpoint: DimseEndpoint, instances: list[bytes], policy: RetryPolicy = DEFAULT_POLICY
) -> list[SendResult]:
    datasets = [pydicom.dcmread(BytesIO(data)) for data in instances]
    results: dict[int, SendResult] = {}

    def call() -> None:
        pending = [i for i in range(len(datasets)) if i not in results]
        ae = new_ae()
        for sop_class, syntax in {
            (str(datasets[i].SOPClassUID), str(datasets[i].file_meta.TransferSyntaxUID))
            for i in pending
        }:
            ae.add_requested_context(sop_class, syntax)
        with associate(ae, endpoint) as assoc:
            for i in pending:
                ds = datasets[i]
                uid = str(ds.SOPInstanceUID)
                status = assoc.send_c_store(ds)
                code = getattr(status, "Status", None)
                if code is None:
                    raise TransientError(f"C-STORE {uid} to {endpoint}: no answer")
                if _is_out_of_resources(code):
                    raise TransientError(f"C-STORE {uid} to {endpoint}: status 0x{code:04X}")
                stored = code == 0x0000 or code in WARNINGS
                reason = None if stored else f"C-STORE status 0x{code:04X}"
                results[i] = SendResult(uid, stored, f"0x{code:04X}", reason)

    try:
        with_retry(call, f"C-STORE to {endpoint}", policy)
    except PacsError as error:
        for i, ds in enumerate(datasets):
            results.setdefault(
                i,
                SendResult(str(ds.SOPInstanceUID), False, "error", error.reason, error.transient),
            )
    return [results[i] for i in range(len(datasets))]
