"""What a listing yields and what a send answers: plain records the plan and the ledger can hold."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset


@dataclass(frozen=True)
class StudyRef:
    study_uid: str
    instances: int | None = None  # NumberOfStudyRelatedInstances when the server says


@dataclass(frozen=True)
class SeriesRef:
    study_uid: str
    series_uid: str
    modality: str | None = None
    instances: int | None = None


@dataclass(frozen=True)
class InstanceRef:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str | None = None


@dataclass(frozen=True)
class SendResult:
    """The destination's answer for one instance: STOW-RS or C-STORE status, and why not."""

    sop_uid: str
    stored: bool
    status: str  # "0x0000", "0xA700", "0xC000" for DIMSE; "stored", "failed 0x0110" for STOW
    reason: str | None = None
    transient: bool = False  # not stored for a cause a rerun may not meet (see retry)


def instance_identifier(ref: InstanceRef) -> Dataset:
    """The Study Root identifier that names one instance (C-GET and C-MOVE ask the same)."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    identifier.StudyInstanceUID = ref.study_uid
    identifier.SeriesInstanceUID = ref.series_uid
    identifier.SOPInstanceUID = ref.sop_uid
    return identifier
