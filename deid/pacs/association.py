"""Open a DIMSE association with an endpoint; turn its failures into PacsError or retries.

A refused TCP connection (nobody listening) is transient: the archive may be restarting. An
association the peer rejects (unknown called AE title, calling AE not allowed) is permanent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from pynetdicom import AE
from pynetdicom.association import Association

from deid.pacs.errors import PacsError
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


@contextlib.contextmanager
def associate(ae: AE, endpoint: DimseEndpoint, **kwargs) -> Iterator[Association]:
    assoc = ae.associate(endpoint.host, endpoint.port, ae_title=endpoint.aet, **kwargs)
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
