"""C-GET fetch of one instance as Part 10 bytes, over the same association (no listener needed).

The storage context is proposed for the instance's SOP class (from the listing) with SCP role,
offering the common transfer syntaxes so the archive can send what it stores without
transcoding.
"""

from __future__ import annotations

from typing import Any

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

from deid.pacs.association import associate, new_ae, open_association
from deid.pacs.failures import PacsError
from deid.pacs.refs import InstanceRef, instance_identifier
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


class GetSession:
    """C-GET instance after instance on one association, for a worker's whole partition.

    The storage contexts (SCP role) are proposed for the SOP classes the listing named, up
    to the 127 presentation contexts an association can carry besides the Get context. An
    association the archive drops is reopened on the next fetch, within the retry policy.
    """

    MAX_CLASSES = 126

    def __init__(self, endpoint: DimseEndpoint, sop_classes: list[str], policy=DEFAULT_POLICY):
        self.endpoint, self.policy = endpoint, policy
        self.sop_classes = list(sop_classes)[: self.MAX_CLASSES]
        self.assoc: Any = None
        self.received: list[bytes] = []

    def __enter__(self) -> GetSession:
        return self

    def __exit__(self, *exc) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()
        self.assoc = None

    def _on_store(self, event) -> int:
        self.received.append(event.encoded_dataset())
        return 0x0000

    def _open(self):
        from deid.pacs.association import CALLING_AET
        from deid.pacs.retry import TransientError

        ae = new_ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        for sop_class in self.sop_classes:
            ae.add_requested_context(sop_class, TRANSFER_SYNTAXES)
        assoc = open_association(
            ae,
            self.endpoint,
            ext_neg=[build_role(uid, scp_role=True) for uid in self.sop_classes],
            evt_handlers=[(evt.EVT_C_STORE, self._on_store)],
        )
        if assoc.is_rejected:
            raise PacsError(
                f"{self.endpoint}: association rejected (unknown called AE title "
                f"{self.endpoint.aet!r} or calling AE {CALLING_AET!r} not allowed)"
            )
        if not assoc.is_established:
            raise TransientError(f"{self.endpoint}: no association (connection refused)")
        return assoc

    def fetch(self, ref: InstanceRef) -> bytes:
        if ref.sop_class_uid not in self.sop_classes:
            raise PacsError(f"C-GET {ref.sop_uid}: no storage context for its SOP class")

        def call() -> bytes:
            from deid.pacs.retry import TransientError

            if self.assoc is None or not self.assoc.is_established:
                self.assoc = self._open()
            assoc = self.assoc
            self.received = []
            identifier = instance_identifier(ref)
            final = None
            for status, _ in assoc.send_c_get(
                identifier, StudyRootQueryRetrieveInformationModelGet
            ):
                final = getattr(status, "Status", None)
                if final is None:
                    self.assoc = None
                    raise TransientError(f"C-GET {ref.sop_uid} at {self.endpoint}: no answer")
            if final not in (0x0000, 0xFF00) or len(self.received) != 1:
                raise PacsError(
                    f"C-GET {ref.sop_uid} at {self.endpoint}: status "
                    f"0x{(final or 0):04X}, {len(self.received)} instance(s) received"
                )
            return self.received[0]

        return with_retry(call, f"C-GET {ref.sop_uid} at {self.endpoint}", self.policy)
