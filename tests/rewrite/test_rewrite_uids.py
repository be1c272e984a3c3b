"""UIDs: consistent across files and runs, different per key, references still resolve."""

from __future__ import annotations

import copy

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rewrite_support import base_dataset, roundtrip, shipped

from deid.dicom.uids import is_well_known_uid
from deid.rewrite.engine import deidentify
from deid.rewrite.keyring import KeyRing

FOR = "1.2.826.0.1.3680043.10.9999.500"


def _pair() -> tuple[Dataset, Dataset]:
    """Two images of one series; the second references the first and a well-known class."""
    a = base_dataset(SOPInstanceUID="1.2.826.0.1.3680043.10.9999.1.2.1")
    a.FrameOfReferenceUID = FOR
    b = base_dataset(SOPInstanceUID="1.2.826.0.1.3680043.10.9999.1.2.2")
    b.FrameOfReferenceUID = FOR
    ref = Dataset()
    ref.ReferencedSOPClassUID = a.SOPClassUID
    ref.ReferencedSOPInstanceUID = a.SOPInstanceUID
    b.ReferencedImageSequence = Sequence([ref])
    src = Dataset()
    src.ReferencedSOPClassUID = a.SOPClassUID
    src.ReferencedSOPInstanceUID = a.SOPInstanceUID
    b.SourceImageSequence = Sequence([src])
    return a, b


def test_references_resolve_across_files(keys) -> None:
    a, b = _pair()
    ra = deidentify(a, shipped("basic"), keys)
    rb = deidentify(b, shipped("basic"), keys)
    _, a_out = roundtrip(a)
    _, b_out = roundtrip(b)
    assert a_out.StudyInstanceUID == b_out.StudyInstanceUID != ra.study_instance_uid_in
    assert a_out.SeriesInstanceUID == b_out.SeriesInstanceUID
    assert a_out.FrameOfReferenceUID == b_out.FrameOfReferenceUID != FOR
    for seq in (b_out.ReferencedImageSequence, b_out.SourceImageSequence):
        assert seq[0].ReferencedSOPInstanceUID == a_out.SOPInstanceUID
        assert seq[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"  # well-known: kept
    assert a_out.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    # uid_map records every remap, and only remaps
    assert ra.uid_map[ra.sop_instance_uid_in] == a_out.SOPInstanceUID
    assert rb.uid_map[FOR] == b_out.FrameOfReferenceUID
    assert not any(is_well_known_uid(k) for k in rb.uid_map)
    assert all(v.startswith("2.25.") for v in rb.uid_map.values())


def test_two_runs_same_key_same_bytes() -> None:
    a, _ = _pair()
    first, second = copy.deepcopy(a), copy.deepcopy(a)
    deidentify(first, shipped("research"), KeyRing(b"same"))
    deidentify(second, shipped("research"), KeyRing(b"same"))
    assert roundtrip(first)[0] == roundtrip(second)[0]


def test_different_key_different_uids_and_pseudonyms() -> None:
    a, _ = _pair()
    one, two = copy.deepcopy(a), copy.deepcopy(a)
    r1 = deidentify(one, shipped("basic"), KeyRing(b"key-1"))
    r2 = deidentify(two, shipped("basic"), KeyRing(b"key-2"))
    assert one.SOPInstanceUID != two.SOPInstanceUID
    assert one.StudyInstanceUID != two.StudyInstanceUID
    assert r1.patient_pseudonym != r2.patient_pseudonym
    assert set(r1.uid_map) == set(r2.uid_map)


def test_ledger_fields(keys) -> None:
    a, _ = _pair()
    sop = a.SOPInstanceUID
    result = deidentify(a, shipped("research"), keys)
    assert result.patient_id_in == "PID4455667"
    assert (
        result.patient_pseudonym
        == str(a.PatientID)
        == keys.patient_pseudonym("PID4455667", "DEID-")
    )
    assert str(a.PatientName) == result.patient_pseudonym
    assert result.sop_instance_uid_in == sop
    assert result.series_instance_uid_in == "1.2.826.0.1.3680043.10.9999.1.2"
    assert result.study_instance_uid_in == "1.2.826.0.1.3680043.10.9999.1"
    assert result.date_offset_days == keys.date_offset_days("PID4455667", -3650, -365)
    assert deidentify(_pair()[0], shipped("basic"), keys).date_offset_days is None


def test_well_known_uids() -> None:
    assert is_well_known_uid("1.2.840.10008.1.2.1")
    assert is_well_known_uid("1.2.840.10008.5.1.4.1.1.2")
    assert not is_well_known_uid("1.2.826.0.1.3680043.10.9999.1")
