"""Check an endpoint answers, before anything is fetched: the issue's usage errors (exit 2).

A DICOMweb endpoint gets one QIDO-RS study search with limit=1 (a 401 means wrong or missing
credentials); a DIMSE endpoint a C-ECHO (a rejected association means an unknown AE title or a
calling AE the archive does not know). Both use a short retry so a flapping server is not
mistaken for a wrong URL.
"""

from __future__ import annotations

from pynetdicom.sop_class import Verification

from deid.errors import UserError
from deid.pacs.association import associate, new_ae
from deid.pacs.dicomweb import dicomweb_client
from deid.pacs.failures import PacsError
from deid.pacs.retry import RetryPolicy, with_retry
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint

PROBE_POLICY = RetryPolicy(attempts=2, first_delay_s=0.5)


def probe(endpoint: DicomwebEndpoint | DimseEndpoint, role: str) -> None:
    """Return when the endpoint answers; UserError (one line, exit 2) when it does not."""
    try:
        if isinstance(endpoint, DicomwebEndpoint):
            client = dicomweb_client(endpoint, role)
            with_retry(
                lambda: client.search_for_studies(limit=1), f"QIDO-RS at {endpoint}", PROBE_POLICY
            )
        else:
            with_retry(lambda: _echo(endpoint), f"C-ECHO at {endpoint}", PROBE_POLICY)
    except PacsError as error:
        raise UserError(f"{role} {error.reason}") from None


def _echo(endpoint: DimseEndpoint) -> None:
    ae = new_ae()
    ae.add_requested_context(Verification)
    with associate(ae, endpoint) as assoc:
        status = assoc.send_c_echo()
        code = getattr(status, "Status", None)
        if code != 0x0000:
            raise PacsError(f"C-ECHO at {endpoint}: status {code!r}")
