"""Synthetic exports for the pipeline tests: small CT/MR files built with pydicom.

A module of its own (not conftest) so that test modules import it by a unique name."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

REPO = Path(__file__).resolve().parents[2]
BASIC = str(REPO / "recipes" / "basic.yaml")
HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def make_image(
    patient_id: str = "PAT001",
    patient_name: str = "Doe^Jane",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    modality: str = "CT",
    size: int = 8,
) -> Dataset:
    """A small but complete CT or MR image data set with identifying values."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage if modality == "CT" else MRImageStorage
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyDate = "20240131"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC12345"
    ds.Modality = modality
    ds.Manufacturer = "ACME"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.StudyDescription = "Chest"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyID = "S1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.SliceThickness = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.KVP = 120
    else:
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.EchoTime = 10
        ds.RepetitionTime = 500
        ds.EchoTrainLength = 1
    ds.PixelData = (np.arange(size * size, dtype=np.uint16) % 4096).tobytes()
    return ds


def save(ds: Dataset, path: Path, syntax=ExplicitVRLittleEndian, preamble: bool = True) -> Path:
    """Write ``ds`` as Part 10 (or, with ``preamble=False``, as a bare data set)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if preamble:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = syntax
        ds.file_meta = meta
        ds.save_as(path, enforce_file_format=True)
    else:
        implicit = syntax == ImplicitVRLittleEndian
        pydicom.dcmwrite(path, ds, implicit_vr=implicit, little_endian=True)
    return path


def make_export(root: Path, patients: int = 2, studies: int = 1, images: int = 3) -> list[Path]:
    """A folder tree like a PACS export: PATIENT/STUDY/IMnnnn, CT and MR mixed."""
    paths = []
    for p in range(patients):
        for s in range(studies):
            study = generate_uid()
            series = generate_uid()
            for i in range(images):
                ds = make_image(
                    patient_id=f"PAT{p:03d}",
                    patient_name=f"Person^Number{p}",
                    study_uid=study,
                    series_uid=series,
                    modality="CT" if p % 2 == 0 else "MR",
                )
                ds.InstanceNumber = i + 1
                paths.append(save(ds, root / f"P{p}" / f"S{s}" / f"IM{i:04d}"))
    return paths


def deid_command() -> list[str]:
    return [sys.executable, "-m", "deid"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DEID_KEY"}
    env.update(extra)
    return env
