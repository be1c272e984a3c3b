"""Open a DIMSE association with an endpoint; turn its failures into PacsError or retries.

A refused TCP connection (nobody listening) is transient: the archive may be restarting. An
association the peer rejects (unknown called AE title, calling AE not allowed) is permanent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import Iterator

from pynetdicom import AE
from pynetdicom.association import Association

from deid.pacs.failures import PacsError
from deid.pacs.retry import TransientError
from deid.pacs.urls import DimseEndpoint

CALLING_AET = "DEID"
TIMEOUT_S = 30

# pynetdicom logs PDUs at INFO/DEBUG and a refused connection at ERROR; deid reports each
# failure itself (one line, as a PacsError), so keep pynetdicom's own logging quiet.
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


def new_ae() -> AE:
    ae = AE(ae_title=CALLING_AET)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.connection_timeout = 5
    return ae


def tls_args(endpoint: DimseEndpoint) -> tuple[ssl.SSLContext, str] | None:
    """pynetdicom's ``tls_args`` for a ``dimse+tls://`` endpoint, else None.

    The archive's certificate is verified against ``DEID_CA_BUNDLE`` (else the system's
    trust store) and its host name; ``DEID_TLS_CERT`` and ``DEID_TLS_KEY`` (PEM files) are
    deid's own certificate, for an archive that requires one.
    """
    if not endpoint.tls:
        return None
    from deid.errors import UserError
    from deid.pacs.auth import ca_bundle

    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_bundle())
    cert, key = os.environ.get("DEID_TLS_CERT"), os.environ.get("DEID_TLS_KEY")
    if cert or key:
        try:
            context.load_cert_chain(cert or "", key or None)
        except (OSError, ssl.SSLError) as error:
            kind = type(error).__name__
            raise UserError(
                f"DEID_TLS_CERT/DEID_TLS_KEY: not a usable certificate ({kind})"
            ) from None
    return context, endpoint.host


def open_association(ae: AE, endpoint: DimseEndpoint, **kwargs) -> Association:
    """``ae.associate`` with the endpoint's address, called AE title and TLS."""
    return ae.associate(
        endpoint.host, endpoint.port, ae_title=endpoint.aet, tls_args=tls_args(endpoint), **kwargs
    )


@contextlib.contextmanager
def associate(ae: AE, endpoint: DimseEndpoint, **kwargs) -> Iterator[Association]:
    assoc = open_association(ae, endpoint, **kwargs)
    if assoc.is_rejected:
        raise PacsError(
            f"{endpoint}: association rejected (unknown called AE title {endpoint.aet!r} "
            f"or calling AE {CALLING_AET!r} not allowed)"
        )
    if not assoc.is_established:  # pynetdicom flags a refused TCP connection as aborted too
        raise TransientError(
            f"{endpoint}: no association (connection refused, aborted or no answer)"
        )
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
