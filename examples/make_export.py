#!/usr/bin/env python3
"""Build the bundled synthetic DICOM export: ``make_export.py OUT_DIR [--seed N]``.

Why this exists: a de-identifier can only be shown (``make demo``) and tested against
leaks if its input really carries identity in all the places real exports hide it. This
script plants known identifiers (``PLANTED``) in names, IDs, dates, addresses, phone
numbers, descriptors, nested sequences, an SR content tree, private vendor blocks and
burned-in pixel text, an overlay plane and a PDF, across four patients and five SOP
classes (CT, MR, US, Comprehensive SR, Encapsulated PDF). It lays the files out the way
a PACS export does (``PAT1/STUDY1/SER1/IM0001`` without extension, some ``.dcm``), with
the traps a batch must survive: a dataset without a Part 10 header (implicit VR), a non-DICOM
``README.txt``, a CD-style sub-folder with its own DICOMDIR, Japanese (ISO 2022 IR 87)
and UTF-8 (ISO_IR 192) names.

Deterministic for a seed: the seed picks the UIDs (2.25 UIDs from a SHA-256 of seed and
label) and the pixel noise; the planted identifiers are the same for every seed, so
tests can look for them. Nothing depends on the clock or on the machine.

Importable without installing anything (``examples/`` is not a package, on purpose: it
is not shipped in the wheel)::

    import sys; from pathlib import Path
    sys.path.insert(0, str(REPO / "examples"))
    from make_export import build_export, PLANTED, planted_strings

Validity: every DICOM file passes ``dciodvfy`` with no "Error" line (tests/examples pin
this). The warnings that remain are unavoidable for synthetic data or deliberate:
  - "Attribute is not present in standard DICOM IOD" for Patient's Address and Patient's
    Telephone Numbers (Patient Demographic attributes that real modalities copy into
    images anyway; planted on purpose), hence also "Standard Extended SOP Class";
  - "Unrecognized defined term <99LOCAL>" for Coding Scheme Designator: the procedure and
    protocol codes use a local (99-prefixed) scheme, as real sites do;
  - "Unrecognized tag" for (0019,1010): the deliberately unsafe GEMS_ACQU_01 element that
    is not in Table E.3.10-1 (dciodvfy knows GE's dictionary, not this made-up element).
README.txt is not DICOM; the CD's DICOMDIR validates as a Basic Directory.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.pixels import pack_bits
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
)

# SOP classes (PS3.4 Annex B). Named here once so tests can ask "is every class present".
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
SOP_CLASSES = {
    "CT": CT_IMAGE,
    "MR": MR_IMAGE,
    "US": US_IMAGE,
    "SR": COMPREHENSIVE_SR,
    "DOC": ENCAPSULATED_PDF,
}

# Detached Study Management SOP Class (retired but the only class ReferencedStudySequence
# items use in practice).
STUDY_COMPONENT_CLASS = "1.2.840.10008.3.1.2.3.1"
IMPLEMENTATION_VERSION = "DEID_EXAMPLES_1"


@dataclass(frozen=True)
class Patient:
    """One synthetic patient: every field is an identifier a de-identifier must remove."""

    folder: str
    name: str  # DICOM PN as written (may hold ideographic/phonetic groups)
    spoken_name: str  # the name as free text writes it ("John Doe")
    patient_id: str
    other_id: str  # a second ID (Other Patient IDs Sequence), e.g. the insurance number
    birth_date: str  # DA
    birth_date_text: str  # the same date as free text writes it
    sex: str
    age: str
    address: str
    phone: str
    charset: str | list[str]  # Specific Character Set
    accession: str
    study_date: str
    study_date_text: str


PATIENTS: tuple[Patient, ...] = (
    Patient(
        folder="PAT1",
        name="DOE^JOHN",
        spoken_name="John Doe",
        patient_id="PAT0001",
        other_id="INS-4411-0921",
        birth_date="19650412",
        birth_date_text="12/04/1965",
        sex="M",
        age="058Y",
        address="12 Elm Street, Springfield, IL 62704",
        phone="+1 217 555 0142",
        charset="ISO_IR 100",
        accession="ACC240131A",
        study_date="20240131",
        study_date_text="2024-01-31",
    ),
    Patient(
        folder="PAT2",
        name="Müller^Jürgen",
        spoken_name="Jürgen Müller",
        patient_id="PAT0002",
        other_id="KV-A123456789",
        birth_date="19580723",
        birth_date_text="23.07.1958",
        sex="M",
        age="065Y",
        address="Hauptstraße 5, 80331 München",
        phone="+49 89 555 0199",
        charset="ISO_IR 192",
        accession="ACC240214B",
        study_date="20240214",
        study_date_text="14.02.2024",
    ),
    Patient(
        folder="PAT3",
        name="Yamada^Tarou=山田^太郎=やまだ^たろう",
        spoken_name="Tarou Yamada",
        patient_id="PAT0003",
        other_id="JP-77-000123",
        birth_date="19711105",
        birth_date_text="1971-11-05",
        sex="M",
        age="052Y",
        address="1-2-3 Chiyoda, Tokyo 100-0001",
        phone="+81 3 5555 0123",
        charset=["", "ISO 2022 IR 87"],
        accession="ACC240302C",
        study_date="20240302",
        study_date_text="2024-03-02",
    ),
    Patient(
        folder="PAT4",
        name="SMITH^JANE^A",
        spoken_name="Jane Smith",
        patient_id="PAT0004",
        other_id="NHS 943 476 5919",
        birth_date="19900228",
        birth_date_text="28/02/1990",
        sex="F",
        age="034Y",
        address="4 Rose Lane, Leeds LS1 4AP",
        phone="0113 496 0000",
        charset="ISO_IR 100",
        accession="ACC240315D",
        study_date="20240315",
        study_date_text="2024-03-15",
    ),
)

# Staff and site identifiers shared by the export (also planted).
REFERRING = "HOUSE^GREGORY^^DR"
PERFORMING = "QUINN^MICHAELA"
OPERATOR = "TECH^TOM"
VERIFIER = "WATSON^JOAN^^DR"
PROTOCOL_PERSON = "CHASE^ROBERT"  # PersonName three sequence levels down
INSTITUTION = "St. Elsewhere General Hospital"
INSTITUTION_ADDRESS = "1 Hospital Road, Springfield, IL 62701"
STATION = "CTSCAN01"
DEVICE_SERIAL = "SN-88812"
# Modality -> (Manufacturer, Manufacturer's Model Name). The US pair is the one a recipe's
# pixel "regions" rule can match on.
EQUIPMENT = {
    "CT": ("GE MEDICAL SYSTEMS", "LightSpeed"),
    "MR": ("SIEMENS", "Avanto"),
    "US": ("ACME", "Sono 5"),
    "SR": ("DEIDEX", "Reporter"),
    "DOC": ("DEIDEX", "Scan Station"),
}


def planted_strings(patient: Patient) -> list[str]:
    """Values that must not survive de-identification for this patient (plain text)."""
    family, _, rest = patient.name.split("=")[0].partition("^")
    given = rest.split("^")[0]
    return [
        patient.name.split("=")[0],
        family,
        given,
        patient.spoken_name,
        patient.patient_id,
        patient.other_id,
        patient.birth_date,
        patient.birth_date_text,
        patient.address,
        patient.phone,
        patient.accession,
    ]


# Label -> identifying strings, for leak tests downstream (verify, rewrite, pipeline).
PLANTED: dict[str, list[str]] = {p.folder: planted_strings(p) for p in PATIENTS}
PLANTED["staff"] = [REFERRING, PERFORMING, OPERATOR, VERIFIER, PROTOCOL_PERSON]
PLANTED["site"] = [INSTITUTION, INSTITUTION_ADDRESS]
# Ideographic / phonetic name groups of PAT3, as decoded text.
PLANTED["PAT3-ideographic"] = ["山田", "太郎", "やまだ", "たろう"]
# Text burned into the US pixels (OCR must find it; the header scan cannot).
BURNED_IN_TEXT = ["SMITH JANE", "PAT0004", "2024-03-15"]
# Text drawn into the overlay plane (6000,3000) of PAT1's third CT slice.
OVERLAY_TEXT = "DOE JOHN 12/04/1965"
OVERLAY_FILE = "PAT1/STUDY1/SER1/IM0003"


class _Uids:
    """Deterministic UIDs: the same (seed, label) always gives the same 2.25 UID."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, *label: object) -> str:
        text = "/".join(["deid-examples", str(self.seed), *map(str, label)])
        # pydicom's generate_uid(None, ...) ignores entropy_srcs (it returns a random UUID),
        # so derive the 2.25 UID (PS3.5 B.2) from a digest ourselves.
        return "2.25." + str(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big"))


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _request_attributes(p: Patient, study_uid: str, protocol: str) -> Sequence:
    """Request Attributes Sequence with a PersonName three levels down.

    RequestAttributesSequence > ScheduledProtocolCodeSequence > ProtocolContextSequence is
    a Content Item (PNAME) in the standard's own structure, so the nesting is real, not
    invented: a rewriter that stops at depth two leaks CHASE^ROBERT.
    """
    context = Dataset()
    context.ValueType = "PNAME"
    context.ConceptNameCodeSequence = [_code("121008", "DCM", "Person Observer Name")]
    context.PersonName = PROTOCOL_PERSON
    protocol_code = _code("P5-0800A", "99LOCAL", protocol)
    protocol_code.ProtocolContextSequence = [context]
    req = Dataset()
    req.AccessionNumber = p.accession
    req.StudyInstanceUID = study_uid
    req.RequestedProcedureID = f"RP-{p.patient_id}"
    req.RequestedProcedureDescription = f"{protocol} for {p.spoken_name}"
    req.ReasonForTheRequestedProcedure = (
        f"Follow-up, patient {p.spoken_name}, born {p.birth_date_text}"
    )
    req.ScheduledProcedureStepID = f"SPS-{p.accession}"
    req.ScheduledProcedureStepDescription = protocol
    req.ScheduledProtocolCodeSequence = [protocol_code]
    return Sequence([req])


def _base(p: Patient, uids: _Uids, study: str, series: str, modality: str) -> Dataset:
    """Patient, General Study, Patient Study, General Series, General Equipment, SOP Common."""
    ds = Dataset()
    ds.SpecificCharacterSet = p.charset
    ds.InstanceCreationDate = p.study_date
    ds.InstanceCreationTime = "101500"
    # Patient
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.IssuerOfPatientID = "SPRINGFIELD-MRN"
    ds.PatientBirthDate = p.birth_date
    ds.PatientSex = p.sex
    other = Dataset()
    other.PatientID = p.other_id
    other.IssuerOfPatientID = "INSURER"
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = [other]
    ds.PatientAddress = p.address
    ds.PatientTelephoneNumbers = p.phone
    ds.PatientComments = f"{p.spoken_name} prefers morning appointments; call {p.phone}"
    # General Study
    study_uid = uids(p.folder, study)
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = p.study_date
    ds.StudyTime = "093000"
    ds.ReferringPhysicianName = REFERRING
    ds.StudyID = f"S{p.patient_id[-4:]}{study[-1]}"
    ds.AccessionNumber = p.accession
    description = {
        "CT": "CT chest",
        "MR": "MR brain",
        "US": "US abdomen",
        "SR": "CT chest",
        "DOC": "CT chest",
    }[modality]
    ds.StudyDescription = f"{description} for {p.spoken_name} {p.study_date_text}"
    ds.ProcedureCodeSequence = [_code("RPID17", "99LOCAL", description)]
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = STUDY_COMPONENT_CLASS
    ref_study.ReferencedSOPInstanceUID = uids(p.folder, study, "study-component")
    ds.ReferencedStudySequence = [ref_study]
    ds.PhysiciansOfRecord = REFERRING
    # Patient Study
    ds.PatientAge = p.age
    ds.PatientSize = "1.78"
    ds.PatientWeight = "81.5"
    ds.AdditionalPatientHistory = f"{p.spoken_name}, DOB {p.birth_date_text}, MRN {p.patient_id}"
    # General Series / SR Document Series
    ds.Modality = modality
    ds.SeriesInstanceUID = uids(p.folder, study, series)
    ds.SeriesNumber = int(series[-1])
    ds.SeriesDate = p.study_date
    ds.SeriesTime = "093500"
    if modality not in ("SR", "DOC"):  # General Series only, not SR / Encapsulated Document
        ds.OperatorsName = OPERATOR
        ds.RequestAttributesSequence = _request_attributes(p, study_uid, description)
        ds.PerformedProcedureStepStartDate = p.study_date
        ds.PerformedProcedureStepStartTime = "093200"
        ds.PerformedProcedureStepID = f"PPS-{p.accession}"
    # General Equipment
    ds.Manufacturer = EQUIPMENT[modality][0]
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = INSTITUTION_ADDRESS
    ds.InstitutionalDepartmentName = "Radiology"
    ds.StationName = STATION
    ds.ManufacturerModelName = EQUIPMENT[modality][1]
    ds.DeviceSerialNumber = DEVICE_SERIAL
    ds.SoftwareVersions = "1.0"
    return ds


def _image_common(ds: Dataset, p: Patient, number: int) -> None:
    """General Series (image part), General Image, Image Plane, VOI attributes."""
    ds.PerformingPhysicianName = PERFORMING
    ds.BodyPartExamined = {"CT": "CHEST", "MR": "HEAD", "US": "ABDOMEN"}[ds.Modality]
    ds.SeriesDescription = f"{ds.Modality} series for {p.name.split('=')[0].replace('^', ' ')}"
    ds.InstanceNumber = number
    ds.AcquisitionNumber = 1
    ds.ContentDate = p.study_date
    ds.ContentTime = f"0940{number:02d}"
    ds.AcquisitionDate = p.study_date
    ds.AcquisitionTime = f"0939{number:02d}"
    ds.ImageComments = f"Pt {p.spoken_name}, MRN {p.patient_id}, call {p.phone}"
    ds.BurnedInAnnotation = "NO"


def _plane(ds: Dataset, uids: _Uids, p: Patient, study: str, number: int, size: int) -> None:
    """Frame of Reference + Image Plane: axial slices, 5 mm apart."""
    ds.FrameOfReferenceUID = uids(p.folder, study, "frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    z = -100.0 + 5.0 * number
    corner = f"{-size / 2 * 0.8:.2f}"  # DS is at most 16 characters: format, never repr
    ds.ImagePositionPatient = [corner, corner, f"{z:.2f}"]
    ds.PixelSpacing = [0.8, 0.8]
    ds.SliceThickness = 5
    ds.SliceLocation = f"{z:.2f}"


def _phantom(rng: np.random.Generator, size: int, number: int) -> np.ndarray:
    """A body-shaped HU map: soft tissue ellipse, two lungs, a spine, some noise."""
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    c = size // 2
    cv2.ellipse(hu, (c, c), (int(size * 0.42), int(size * 0.30)), 0, 0, 360, 40, -1)
    lung = (int(size * 0.14), int(size * 0.20 - number))
    cv2.ellipse(hu, (c - size // 5, c - size // 20), lung, 0, 0, 360, -820, -1)
    cv2.ellipse(hu, (c + size // 5, c - size // 20), lung, 0, 0, 360, -820, -1)
    cv2.circle(hu, (c, c + size // 5), size // 14, 700, -1)
    hu += rng.normal(0, 12, hu.shape).astype(np.float32)
    return hu


def _private_ge(ds: Dataset, p: Patient) -> None:
    """A GE acquisition block: three safe elements (Table E.3.10-1) and one that is not."""
    block = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    block.add_new(0x23, "DS", "39.375")  # Table Speed: safe
    block.add_new(0x24, "DS", "4.5")  # Mid Scan Time: safe
    block.add_new(0x27, "DS", "0.8")  # Rotation Speed: safe
    # Not in Table E.3.10-1: a scanner note that names the patient.
    block.add_new(0x10, "LO", f"Protocol run for {p.spoken_name}")
    iden = ds.private_block(0x0009, "GEMS_IDEN_01", create=True)
    iden.add_new(0x02, "SH", "CT99")  # Suite ID: device identity, not on the safe list
    iden.add_new(0x04, "SH", p.patient_id)


def _private_siemens(ds: Dataset, p: Patient) -> None:
    """A CSA-header-style block whose binary blob carries the name, plus one safe element."""
    name_bytes = p.name.encode("utf-8")
    ascconv = (
        b"### ASCCONV BEGIN ###\n"
        b'sPatient.tPatientName\t = "' + name_bytes + b'"\n'
        b'sPatient.tPatientID\t = "' + p.patient_id.encode() + b'"\n'
        b'tProtocolName\t = "t1_se_tra"\n'
        b"### ASCCONV END ###\n"
    )
    blob = b"SV10\x04\x03\x02\x01" + len(ascconv).to_bytes(4, "little") + ascconv
    if len(blob) % 2:
        blob += b"\0"
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x09, "LO", "20240214")
    csa.add_new(0x10, "OB", blob)
    csa.add_new(0x18, "CS", "MR")
    csa.add_new(0x20, "OB", blob)
    mr = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    mr.add_new(0x0C, "IS", "1000")  # B Value: safe (Table E.3.10-1)
    mr.add_new(0x0D, "CS", "DIRECTIONAL")  # Diffusion Directionality: safe


def ct_slice(p: Patient, uids: _Uids, rng: np.random.Generator, study: str, n: int) -> Dataset:
    """One CT Image Storage slice: 16-bit, 12 bits stored, rescale to HU."""
    size = 256
    ds = _base(p, uids, study, "SER1", "CT")
    _image_common(ds, p, n)
    _plane(ds, uids, p, study, n, size)
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = uids(p.folder, study, "SER1", n)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.ReconstructionDiameter = "204.8"
    ds.GantryDetectorTilt = "0"
    ds.TableHeight = "150"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "600"
    ds.XRayTubeCurrent = "250"
    ds.ConvolutionKernel = "STANDARD"
    ds.ContrastBolusAgent = ""
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    hu = _phantom(rng, size, n)
    stored = np.clip(np.rint(hu + 1024), 0, 4095).astype(np.uint16)
    _pixels(ds, stored, bits_stored=12)
    _private_ge(ds, p)
    return ds


def add_overlay(ds: Dataset, text: str) -> None:
    """A graphics overlay (group 6000) whose bitmap spells the patient's name and birth date.

    Overlays are how older workstations annotate: the text is in neither a text element
    nor the pixel data, so only the (60xx,3000) rule (Basic Profile: X) removes it.
    """
    bitmap = np.zeros((ds.Rows, ds.Columns), dtype=np.uint8)
    cv2.putText(bitmap, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1, 1, cv2.LINE_8)
    ds.add_new(0x60000010, "US", ds.Rows)  # Overlay Rows
    ds.add_new(0x60000011, "US", ds.Columns)  # Overlay Columns
    ds.add_new(0x60000022, "LO", "Annotation")  # Overlay Description
    ds.add_new(0x60000040, "CS", "G")  # Overlay Type: graphics
    ds.add_new(0x60000050, "SS", [1, 1])  # Overlay Origin
    ds.add_new(0x60000100, "US", 1)  # Overlay Bits Allocated
    ds.add_new(0x60000102, "US", 0)  # Overlay Bit Position
    ds.add_new(0x60003000, "OW", pack_bits(bitmap.ravel()))  # Overlay Data


def _pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF 1.4 showing ``lines`` in Helvetica (ASCII only).

    Written by hand (offsets computed) because no PDF library is a dependency; any PDF
    reader opens it. It stands for the scanned request form real exports carry.
    """
    text = "BT /F1 14 Tf 72 760 Td 18 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines
    )
    stream = text.encode("latin-1") + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_document(p: Patient, uids: _Uids, study: str) -> Dataset:
    """An Encapsulated PDF: the scanned request form, naming the patient inside the PDF.

    Its text is not de-identifiable by rewriting elements, so the shipped recipes exclude
    this SOP class: the demo shows an "excluded" record for it.
    """
    ds = _base(p, uids, study, "SER3", "DOC")
    ds.SOPClassUID = ENCAPSULATED_PDF
    ds.SOPInstanceUID = uids(p.folder, study, "SER3", 1)
    ds.SeriesDescription = f"Request form {p.spoken_name}"
    ds.ConversionType = "SD"  # SC Equipment: scanned document
    ds.InstanceNumber = 1
    ds.ContentDate = p.study_date
    ds.ContentTime = "091000"
    ds.AcquisitionDateTime = f"{p.study_date}091000"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = f"Imaging request for {p.spoken_name}"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    document = _pdf(
        [
            "Imaging request - St. Elsewhere General Hospital",
            f"Patient: {p.spoken_name}   MRN: {p.patient_id}   DOB: {p.birth_date_text}",
            f"Address: {p.address}   Phone: {p.phone}",
            "Requested: CT chest. Referring: Dr Gregory House",
        ]
    )
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + b"\0" * (len(document) % 2)
    return ds


def mr_slice(p: Patient, uids: _Uids, rng: np.random.Generator, study: str, n: int) -> Dataset:
    """One MR Image Storage slice (spin echo T1), 16-bit."""
    size = 192
    ds = _base(p, uids, study, "SER1", "MR")
    _image_common(ds, p, n)
    _plane(ds, uids, p, study, n, size)
    ds.SOPClassUID = MR_IMAGE
    ds.SOPInstanceUID = uids(p.folder, study, "SER1", n)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = "500"
    ds.EchoTime = "12"
    ds.EchoTrainLength = "1"
    ds.MagneticFieldStrength = "1.5"
    ds.SequenceName = "se2d1"
    ds.WindowCenter = "600"
    ds.WindowWidth = "1200"
    img = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    cv2.ellipse(img, (c, c), (int(size * 0.36), int(size * 0.44)), 0, 0, 360, 900, -1)
    cv2.ellipse(img, (c, c), (int(size * 0.30), int(size * 0.38)), 0, 0, 360, 650, -1)
    cv2.ellipse(img, (c, c + 8), (size // 10 + n, size // 7), 0, 0, 360, 300, -1)
    img += np.abs(rng.normal(0, 20, img.shape)).astype(np.float32)
    _pixels(ds, np.clip(img, 0, 4095).astype(np.uint16), bits_stored=12)
    _private_siemens(ds, p)
    return ds


def _pixels(ds: Dataset, stored: np.ndarray, bits_stored: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = stored.astype("<u2").tobytes()


def us_frame(p: Patient, uids: _Uids, rng: np.random.Generator, study: str) -> Dataset:
    """A 640x480 RGB ultrasound frame with the name, ID and date burned into a top bar."""
    ds = _base(p, uids, study, "SER1", "US")
    _image_common(ds, p, 1)
    ds.SOPClassUID = US_IMAGE
    ds.SOPInstanceUID = uids(p.folder, study, "SER1", 1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "00"
    rgb = np.zeros((480, 640, 3), dtype=np.uint8)
    # Sector of speckle below the bar.
    mask = np.zeros((480, 640), dtype=np.uint8)
    cv2.ellipse(mask, (320, 40), (420, 420), 0, 55, 125, 255, -1)
    speckle = rng.gamma(2.0, 40.0, (480, 640)).clip(0, 255).astype(np.uint8)
    speckle = cv2.GaussianBlur(speckle, (5, 5), 0)
    for channel in range(3):
        rgb[..., channel] = np.where(mask > 0, speckle, 0)
    # The top bar: what an ultrasound cart burns in.
    cv2.rectangle(rgb, (0, 0), (639, 47), (30, 30, 30), -1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    white = (255, 255, 255)
    cv2.putText(rgb, "SMITH JANE  PAT0004", (10, 32), font, 0.8, white, 2, cv2.LINE_AA)
    cv2.putText(rgb, "2024-03-15", (470, 32), font, 0.8, white, 2, cv2.LINE_AA)
    cv2.putText(rgb, "C5-2  12cm", (540, 470), font, 0.5, white, 1, cv2.LINE_AA)
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = 480, 640
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()
    return ds


def sr_document(p: Patient, uids: _Uids, study: str, cts: list[Dataset]) -> Dataset:
    """A Comprehensive SR report on the CT series of the same study.

    The content tree holds a PNAME (the radiologist), a DATE, free TEXT naming the patient,
    a UIDREF to one CT image and an IMAGE reference, so a rewriter must keep references
    consistent with the remapped CT UIDs.
    """
    ds = _base(p, uids, study, "SER2", "SR")
    ds.SOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = uids(p.folder, study, "SER2", 1)
    ds.SeriesDescription = f"Report for {p.spoken_name}"
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.InstanceNumber = 1
    ds.ContentDate = p.study_date
    ds.ContentTime = "120000"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    verifier = Dataset()
    verifier.VerifyingObserverName = VERIFIER
    verifier.VerifyingObserverIdentificationCodeSequence = []
    verifier.VerifyingOrganization = INSTITUTION
    verifier.VerificationDateTime = f"{p.study_date}121500"
    ds.VerifyingObserverSequence = [verifier]
    ds.PerformedProcedureCodeSequence = [_code("RPID17", "99LOCAL", "CT chest")]
    request = Dataset()
    request.StudyInstanceUID = ds.StudyInstanceUID
    request.AccessionNumber = p.accession
    request.ReferencedStudySequence = ds.ReferencedStudySequence
    request.PlacerOrderNumberImagingServiceRequest = f"PO-{p.patient_id}"
    request.FillerOrderNumberImagingServiceRequest = f"FO-{p.accession}"
    request.RequestedProcedureID = f"RP-{p.patient_id}"
    request.RequestedProcedureDescription = f"CT chest for {p.spoken_name}"
    request.RequestedProcedureCodeSequence = [_code("RPID17", "99LOCAL", "CT chest")]
    ds.ReferencedRequestSequence = [request]
    ref = cts[1]
    evidence_sop = Dataset()
    evidence_sop.ReferencedSOPClassUID = CT_IMAGE
    evidence_sop.ReferencedSOPInstanceUID = ref.SOPInstanceUID
    evidence_series = Dataset()
    evidence_series.SeriesInstanceUID = ref.SeriesInstanceUID
    evidence_series.ReferencedSOPSequence = [evidence_sop]
    evidence = Dataset()
    evidence.StudyInstanceUID = ref.StudyInstanceUID
    evidence.ReferencedSeriesSequence = [evidence_series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    # Content tree: root CONTAINER > Findings CONTAINER > items (three levels).
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.ContinuityOfContent = "SEPARATE"

    def item(value_type: str, code: Dataset, rel: str = "CONTAINS") -> Dataset:
        it = Dataset()
        it.RelationshipType = rel
        it.ValueType = value_type
        it.ConceptNameCodeSequence = [code]
        return it

    observer = item("PNAME", _code("121008", "DCM", "Person Observer Name"), "HAS OBS CONTEXT")
    observer.PersonName = VERIFIER
    observer_type = item("CODE", _code("121005", "DCM", "Observer Type"), "HAS OBS CONTEXT")
    observer_type.ConceptCodeSequence = [_code("121006", "DCM", "Person")]
    history = item("TEXT", _code("121060", "DCM", "History"))
    history.TextValue = (
        f"{p.spoken_name} (MRN {p.patient_id}, born {p.birth_date_text}) referred by "
        f"Dr Gregory House after a fall on {p.study_date_text}."
    )
    findings = item("CONTAINER", _code("121070", "DCM", "Findings"))
    findings.ContinuityOfContent = "SEPARATE"
    finding = item("TEXT", _code("121071", "DCM", "Finding"))
    finding.TextValue = f"No pneumothorax. Compared with the prior study of {p.spoken_name}."
    exam_date = item("DATE", _code("111060", "DCM", "Study Date"))
    exam_date.Date = p.study_date
    dictated_by = item("PNAME", _code("121008", "DCM", "Person Observer Name"))
    dictated_by.PersonName = PERFORMING
    uidref = item("UIDREF", _code("UIDREF01", "99LOCAL", "Referenced CT image instance UID"))
    uidref.UID = ref.SOPInstanceUID
    image = item("IMAGE", _code("121080", "DCM", "Best illustration of finding"))
    image_ref = Dataset()
    image_ref.ReferencedSOPClassUID = CT_IMAGE
    image_ref.ReferencedSOPInstanceUID = ref.SOPInstanceUID
    image.ReferencedSOPSequence = [image_ref]
    findings.ContentSequence = [finding, exam_date, dictated_by, uidref, image]
    ds.ContentSequence = [observer_type, observer, history, findings]
    return ds


def _file_meta(ds: Dataset, transfer_syntax: str = ExplicitVRLittleEndian) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    meta.SourceApplicationEntityTitle = "PACS_SPRINGFLD"
    return meta


def _save(ds: Dataset, path: Path) -> Path:
    """Write a Part 10 file (preamble + meta), Explicit VR Little Endian."""
    ds.file_meta = _file_meta(ds)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _save_raw(ds: Dataset, path: Path) -> Path:
    """Write the bare dataset, Implicit VR Little Endian: no preamble, no 'DICM', no meta.

    Older archives and some PACS exports hold such files; readers need force=True.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return path


def _datasets(seed: int) -> Iterator[tuple[str, Dataset, str]]:
    """Yield (relative path, dataset, how): "part10" and "raw" files are written at the
    path; "cd" datasets go into the DICOMDIR File-set rooted at that folder."""
    uids = _Uids(seed)
    rng = np.random.default_rng(seed)
    pat1, pat2, pat3, pat4 = PATIENTS
    cts = [ct_slice(pat1, uids, rng, "STUDY1", n) for n in range(1, 5)]
    add_overlay(cts[2], OVERLAY_TEXT)
    for n, ds in enumerate(cts, 1):
        yield f"PAT1/STUDY1/SER1/IM{n:04d}", ds, "part10"
    yield "PAT1/STUDY1/SER2/IM0001", sr_document(pat1, uids, "STUDY1", cts), "part10"
    yield "PAT1/STUDY1/SER3/IM0001", pdf_document(pat1, uids, "STUDY1"), "part10"
    # A prior MR of PAT1 received on a CD from another site: DICOMDIR + its own layout.
    for n in range(1, 3):
        yield "PAT1/CD", mr_slice(pat1, uids, rng, "STUDY0", n), "cd"
    for n in range(1, 4):
        yield f"PAT2/STUDY1/SER1/IM{n:04d}.dcm", mr_slice(pat2, uids, rng, "STUDY1", n), "part10"
    for n in range(1, 3):
        yield f"PAT3/STUDY1/SER1/IM{n:04d}", ct_slice(pat3, uids, rng, "STUDY1", n), "part10"
    # The third PAT3 slice without a Part 10 header (raw dataset, implicit VR).
    yield "PAT3/STUDY1/SER1/IM0003", ct_slice(pat3, uids, rng, "STUDY1", 3), "raw"
    yield "PAT4/STUDY1/SER1/US000001.dcm", us_frame(pat4, uids, rng, "STUDY1"), "part10"


README_TXT = """\
Export from PACS_SPRINGFLD for St. Elsewhere General Hospital.
Patients: DOE^JOHN (PAT0001), Mueller^Juergen (PAT0002), Yamada^Tarou (PAT0003),
SMITH^JANE^A (PAT0004). Contact the radiology desk on +1 217 555 0100.
This file is not DICOM: a de-identification batch must quarantine or skip it.
"""


def build_export(out_dir: Path, seed: int = 0) -> list[Path]:
    """Write the export under ``out_dir`` and return every file written, sorted.

    The list holds the DICOM files, the CD's DICOMDIR and README.txt; the marker file
    ``marker_for(out_dir)`` (the Makefile's "built" marker, beside the export so that a batch
    over the export does not meet it) is written last and is not in the list. Same seed,
    same bytes. The export is built in a sibling temp folder and renamed into place, so
    an interrupted build never leaves a half export behind. An existing ``out_dir`` is
    replaced only if it is an earlier export (its marker exists) or empty: this
    function deletes folders, so it refuses to delete anything else (FileExistsError).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not _replaceable(out_dir):
        raise FileExistsError(f"{out_dir} exists and is not an example export; not replacing it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.building-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        written = _write_all(staging, seed)
        marker_for(out_dir).unlink(missing_ok=True)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
        marker_for(out_dir).write_text("built by examples/make_export.py\n", "utf-8")
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sorted(out_dir / p.relative_to(staging) for p in written)


def marker_for(out_dir: Path) -> Path:
    """The "export is complete" marker: a sibling file, ``<out_dir>.complete``."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".complete")


def _replaceable(folder: Path) -> bool:
    return folder.is_dir() and (marker_for(folder).is_file() or not any(folder.iterdir()))


def _write_all(root: Path, seed: int) -> list[Path]:
    written: list[Path] = []
    file_sets: dict[str, list[Dataset]] = {}
    for rel, ds, how in _datasets(seed):
        if how == "part10":
            written.append(_save(ds, root / rel))
        elif how == "raw":
            written.append(_save_raw(ds, root / rel))
        else:
            file_sets.setdefault(rel, []).append(ds)
    for rel, members in file_sets.items():
        written.extend(_write_cd(root / rel, members, _Uids(seed)(rel, "file-set")))
    readme = root / "README.txt"
    readme.write_text(README_TXT, encoding="utf-8")
    written.append(readme)
    return written


def _write_cd(folder: Path, datasets: list[Dataset], fileset_uid: str) -> list[Path]:
    """A CD-style File-set: DICOMDIR plus instances in pydicom's default layout.

    pydicom's FileSet names the files (PT000000/ST000000/SE000000/IM000000) and builds the
    directory records, which carry PatientName/ID, StudyDescription... a second copy of the
    identity that a de-identifier must also rewrite.
    """
    fs = FileSet()
    fs.ID = "PRIOR_MR"
    fs.UID = fileset_uid  # otherwise random: the export must be byte-identical per seed
    for ds in datasets:
        ds.file_meta = _file_meta(ds)
        fs.add(ds)
    folder.mkdir(parents=True, exist_ok=True)
    fs.write(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to (re)create with the export")
    parser.add_argument("--seed", type=int, default=0, help="picks UIDs and pixel noise")
    args = parser.parse_args(argv)
    try:
        files = build_export(args.out_dir, args.seed)
    except FileExistsError as exc:
        print(f"make_export: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"make_export: cannot write {args.out_dir}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {len(files)} files under {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
