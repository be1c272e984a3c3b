"""Synthetic DICOM with identity everywhere, for the verify tests (and the hostile ones)."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

PATIENT_NAME = "Quetzalcoatl^Ximena^Beatriz"
PATIENT_ID = "PID-7734129"
ACCESSION = "ACC99231877"
BIRTH_DATE = "19610317"
STUDY_DATE = "20230914"
INSTITUTION = "Saint Wolfgang Clinic"
ADDRESS = "17 Larkspur Lane, Dunmore"
PHYSICIAN = "Hargreaves^Ottoline"
PRIVATE_VALUE = "MRN 55-01-9987 Quetzalcoatl"
ROOT = "1.2.826.0.1.3680043.8.498."


def uid(n: int, series: int = 1, study: int = 1) -> str:
    return f"{ROOT}{study}.{series}.{n}"


def make_dataset(
    n: int = 1,
    series: int = 1,
    study: int = 1,
    patient_id: str = PATIENT_ID,
    patient_name: str = PATIENT_NAME,
    reference: str | None = None,
) -> Dataset:
    """A small CT image with names, IDs, dates, an address, nested sequences, a private block."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = uid(n, series, study)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = uid(n, series, study)
    ds.StudyInstanceUID = f"{ROOT}{study}"
    ds.SeriesInstanceUID = f"{ROOT}{study}.{series}"
    ds.FrameOfReferenceUID = f"{ROOT}{study}.999"
    ds.Modality = "CT"
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.StudyTime = "101500"
    ds.AccessionNumber = ACCESSION
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = ADDRESS
    ds.ReferringPhysicianName = PHYSICIAN
    ds.StationName = "CTSTATION77"
    ds.StudyDescription = "CT chest with contrast"
    ds.SeriesDescription = "Axial 1mm"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = BIRTH_DATE
    ds.PatientSex = "F"
    ds.PatientAddress = ADDRESS
    ds.ImageComments = f"Seen by Dr {PHYSICIAN.split('^')[0]} on {STUDY_DATE[:4]}-09-14"
    ds.StudyID = "STUDY4411"
    ds.SeriesNumber = series
    ds.InstanceNumber = n
    item = Dataset()
    item.ValueType = "PNAME"
    item.PersonName = PHYSICIAN
    inner = Dataset()
    inner.ValueType = "TEXT"
    inner.TextValue = f"Patient {PATIENT_ID} reviewed"
    item.ContentSequence = Sequence([inner])
    ds.ContentSequence = Sequence([item])
    if reference:
        ref = Dataset()
        ref.ReferencedSOPClassUID = CTImageStorage
        ref.ReferencedSOPInstanceUID = reference
        ds.ReferencedImageSequence = Sequence([ref])
    block = ds.private_block(0x0029, "ACME IMAGING 1.0", create=True)
    block.add_new(0x10, "LO", PRIVATE_VALUE)
    block.add_new(0x11, "DS", "42.5")
    ds.Rows = 8
    ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(64, dtype=np.uint16) * 7).tobytes()
    return ds


def deidentify_bytes(raw: bytes, recipe, keys) -> bytes:
    """The engine's output for Part 10 bytes (read, de-identify, encode)."""
    from pydicom import dcmread

    from deid.rewrite.engine import deidentify
    from deid.rewrite.writer import encode_part10

    return encode_part10(deidentify(dcmread(io.BytesIO(raw)), recipe, keys).dataset)


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
