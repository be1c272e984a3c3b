"""Traps: files without a header, DICOMDIR, character sets, deep nesting, SR trees."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian
from rewrite_support import base_dataset, profile_recipe, roundtrip, shipped

from deid.rewrite.engine import deidentify


def test_dataset_without_part10_header(keys) -> None:
    ds = base_dataset()
    del ds.file_meta
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, True
    pydicom.filewriter.write_dataset(buffer, ds)
    raw = buffer.getvalue()
    assert b"DICM" not in raw[:132]
    read = pydicom.dcmread(io.BytesIO(raw), force=True)
    result = deidentify(read, shipped("basic"), keys)
    data, out = roundtrip(read)
    assert data[128:132] == b"DICM"
    assert out.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.SOPInstanceUID == keys.uid(result.sop_instance_uid_in)
    assert b"Doe" not in data and b"PID4455667" not in data


@pytest.mark.parametrize("name", ["DICOMDIR", "DICOMDIR-implicit", "DICOMDIR-reordered"])
def test_dicomdir_records_rewritten_and_offsets_valid(name, keys) -> None:
    path = get_testdata_file(name)
    original = pydicom.dcmread(path)
    names = {str(r.PatientName) for r in original.DirectoryRecordSequence if "PatientName" in r}
    ids = {str(r.PatientID) for r in original.DirectoryRecordSequence if "PatientID" in r}
    assert names and ids
    ds = pydicom.dcmread(path)
    deidentify(ds, shipped("research"), keys)
    data, out = roundtrip(ds)
    for value in names | ids:
        for part in value.split("^"):
            if len(part) > 2:
                assert part.encode() not in data, part
    records = out.DirectoryRecordSequence
    assert len(records) == len(original.DirectoryRecordSequence)
    # Referenced File IDs keep their shape but carry keyed tokens, never input names.
    for before, after in zip(original.DirectoryRecordSequence, records):
        if "ReferencedFileID" in before:
            old = list(before.ReferencedFileID)
            assert list(after.ReferencedFileID) == keys.file_id(old)
            assert not set(old) & set(after.ReferencedFileID)
    patients = [r for r in records if r.DirectoryRecordType == "PATIENT"]
    assert {str(r.PatientID) for r in patients} == {keys.patient_pseudonym(i, "DEID-") for i in ids}
    # Every offset points at the start of a record of the written file.
    starts = {r.seq_item_tell for r in records}
    assert out.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity in starts
    for r in records:
        for offset in (
            r.OffsetOfTheNextDirectoryRecord,
            r.OffsetOfReferencedLowerLevelDirectoryEntity,
        ):
            assert offset == 0 or offset in starts
    # The hierarchy is the original one (same record types along the links).
    by_offset = {r.seq_item_tell: r for r in records}
    first = by_offset[out.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity]
    assert first.DirectoryRecordType == "PATIENT"
    assert (
        by_offset[first.OffsetOfReferencedLowerLevelDirectoryEntity].DirectoryRecordType == "STUDY"
    )


CHARSET_FILES = [
    "chrH31.dcm",
    "chrH32.dcm",
    "chrX1.dcm",
    "chrX2.dcm",
    "chrKoreanMulti.dcm",
    "chrRuss.dcm",
    "chrArab.dcm",
    "chrGreek.dcm",
    "chrI2.dcm",
    "chrJapMulti.dcm",
]


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_names_in_any_charset_removed(name, keys) -> None:
    path = get_charset_files(name)[0]
    original = pydicom.dcmread(path)
    charset = original.SpecificCharacterSet
    components = [
        c for g in str(original.PatientName).split("=") for c in g.split("^") if len(c) >= 2
    ]
    assert components
    ds = pydicom.dcmread(path)
    ds.StudyDescription = "Study of " + " ".join(components) + " kept"
    deidentify(ds, shipped("research"), keys)
    data, out = roundtrip(ds)
    assert out.SpecificCharacterSet == charset
    text = " ".join(
        str(e.value) for e in out.iterall() if e.VR in ("PN", "LO", "SH", "LT", "ST", "UT")
    )
    for component in components:
        assert component not in text, component
        assert component.encode("utf-8") not in data
    assert "kept" in str(out.StudyDescription)


def test_gb18030_name_removed(keys) -> None:
    ds = base_dataset(SpecificCharacterSet="GB18030", PatientName="王^小明")
    ds.StudyDescription = "王小明 的 CT"
    ds.ImageComments = "患者 王小明"
    deidentify(ds, shipped("research"), keys)
    data, out = roundtrip(ds)
    assert "王".encode("gb18030") not in data and "小明".encode("gb18030") not in data
    assert out.SpecificCharacterSet == "GB18030"
    assert "CT" in str(out.StudyDescription)


def test_deep_nesting(keys) -> None:
    ds = base_dataset()
    inner = ds
    for _ in range(60):
        item = Dataset()
        inner.DerivationCodeSequence = Sequence([item])
        inner = item
    inner.PatientName = "Doe^John"
    inner.StudyDescription = "Doe"
    inner.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.9999.1.2.3"
    deidentify(ds, profile_recipe(), keys)
    data, out = roundtrip(ds)
    assert b"Doe" not in data
    deepest = out
    for _ in range(60):
        deepest = deepest.DerivationCodeSequence[0]
    assert deepest.ReferencedSOPInstanceUID == keys.uid("1.2.826.0.1.3680043.10.9999.1.2.3")


def test_sr_content_tree_cleaned(keys) -> None:
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    name = str(ds.PatientName)
    parts = [p for p in name.split("^") if len(p) > 2]
    deidentify(ds, shipped("research"), keys)
    data, out = roundtrip(ds)
    for part in parts:
        assert part.encode() not in data
    assert "ContentSequence" in out
    for elem in out.iterall():
        if elem.tag == 0x0040A123:  # Person Name in a content item: D
            assert str(elem.value) == "ANONYMIZED"
        if elem.tag == 0x0040A124:  # UID content item
            assert str(elem.value).startswith("2.25.")


def test_marking(keys) -> None:
    for recipe, expected in (
        (shipped("basic"), "REMOVED"),
        (shipped("research"), "MODIFIED"),
        (profile_recipe("retain-longitudinal-full-dates"), "UNMODIFIED"),
    ):
        ds = base_dataset()
        deidentify(ds, recipe, keys)
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == expected
        assert ds.DeidentificationMethod.startswith("deid ")
        codes = [
            (i.CodeValue, i.CodingSchemeDesignator) for i in ds.DeidentificationMethodCodeSequence
        ]
        assert ("113100", "DCM") in codes
        assert sorted(c for c, _ in codes) == [c for c, _ in recipe.method_codes()]


def test_nested_person_name_removed_from_all_text(keys) -> None:
    """A name met only inside an SR content item is scrubbed from text anywhere else."""
    ds = base_dataset()
    named = Dataset()
    named.ValueType = "PNAME"
    named.PersonName = "Quackenbush^Eliza"
    text = Dataset()
    text.ValueType = "TEXT"
    text.TextValue = "Seen by Quackenbush today"
    ds.ContentSequence = Sequence([text, named])
    ds.ImageComments = "Eliza Quackenbush reviewed"
    deidentify(ds, shipped("research"), keys)
    data, out = roundtrip(ds)
    assert b"Quackenbush" not in data and b"Eliza" not in data
    assert "today" in out.ContentSequence[0].TextValue
