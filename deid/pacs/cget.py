"""C-GET fetch of one instance as Part 10 bytes, over the same association (no listener needed).

The storage context is proposed for the instance's SOP class (from the listing) with SCP role,
offering the common transfer syntaxes so the archive can send what it stores without
transcoding.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom import build_role, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet

from deid.pacs.association import associate, new_ae
from deid.pacs.errors import PacsError
from deid.pacs.refs import InstanceRef
from deid.pacs.retry import DEFAULT_POLICY, RetryPolicy, with_retry
from deid.pacs.urls import DimseEndpoint

TRANSFER_SYNTAXES = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]


def fetch_instance(
    endpoint: DimseEndpoint, ref: InstanceRef, policy: RetryPolicy = DEFAULT_POLICY
) -> bytes:
    if not ref.sop_class_uid:
        raise PacsError(f"C-GET {ref.sop_uid}: the listing gave no SOP Class UID")

    def call() -> bytes:
        received: list[bytes] = []

        def on_store(event) -> int:
            received.append(event.encoded_dataset())
            return 0x0000

        ae = new_ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_requested_context(ref.sop_class_uid, TRANSFER_SYNTAXES)
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "IMAGE"
        identifier.StudyInstanceUID = ref.study_uid
        identifier.SeriesInstanceUID = ref.series_uid
        identifier.SOPInstanceUID = ref.sop_uid
        with associate(
            ae,
            endpoint,
            ext_neg=[build_role(ref.sop_class_uid, scp_role=True)],
            evt_handlers=[(evt.EVT_C_STORE, on_store)],
        ) as assoc:
            final = None
            for status, _ in assoc.send_c_get(
                identifier, StudyRootQueryRetrieveInformationModelGet
            ):
                final = getattr(status, "Status", None)
                if final is None:
                    raise PacsError(f"C-GET {ref.sop_uid} at {endpoint}: no answer")
        if final not in (0x0000, 0xFF00) or len(received) != 1:
            raise PacsError(
                f"C-GET {ref.sop_uid} at {endpoint}: status "
                f"0x{(final or 0):04X}, {len(received)} instance(s) received"
            )
        return received[0]

    return with_retry(call, f"C-GET {ref.sop_uid} at {endpoint}", policy)
