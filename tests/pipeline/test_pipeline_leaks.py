"""Leak audit of ``deid run`` / ``verify`` / ``report``: planted identity must reach no output
byte, no output name, no ``run.json``, no quarantine reason and no printed line.

The export plants one patient's name and ID everywhere a value can hide: folder names,
free text, SR content three levels deep, overlay and curve groups, the Icon Image
Sequence, Original Attributes, Request Attributes, Other Patient IDs, UN-VR and wrong-VR
elements, private blocks (an odd creator and a Table E.3.10-1 "safe" key), the file meta
(Source AE Title, Private Information) and the preamble, plus values that make pydicom
warn (invalid UIDs) and a Photometric Interpretation the pixel step refuses.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pydicom
import pytest
from pipeline_builders import BASIC, make_image, save
from pipeline_helpers import ledger_rows, run_cli
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import EnhancedSRStorage

from deid.pipeline.per_file import WorkContext, describe_error, new_record, prepare
from deid.recipe import builtin_recipe
from deid.rewrite.keyring import KeyRing

RESEARCH = str(Path(BASIC).with_name("research.yaml"))
NAME = "Zqxdoe^Zqxjohn"
PID = "ZQXPID9876"
#: Every planted value; none may come out anywhere (searched case-insensitively).
SECRETS = ("ZQXDOE", "ZQXJOHN", "ZQXPID9876", "ZQXOTHERID55", "ZQXWHO", "ZQXACC777")


def _raw(ds: Dataset, tag: int, vr: str, value: bytes) -> None:
    ds.add(RawDataElement(Tag(tag), vr, len(value), value, 0, False, True))


def _image() -> Dataset:
    ds = make_image(patient_id=PID, patient_name=NAME)
    ds.AccessionNumber = "ZQXACC777"
    ds.StudyDescription = f"CT for {PID} Zqxdoe"
    ds.ImageComments = f"patient Zqxdoe Zqxjohn id {PID}"
    ds.AdmittingDiagnosesDescription = "Zqxdoe admitted"
    ds.add_new(0x00090010, "LO", "ZQXDOE CREATOR")  # an odd private creator
    ds.add_new(0x00091001, "LO", NAME)
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")  # a Table E.3.10-1 "safe" key
    ds.add_new(0x0019109E, "LO", f"FSE Zqxdoe {PID}")
    for tag, vr, value in (
        (0x60000010, "US", 8), (0x60000011, "US", 8), (0x60000040, "CS", "G"),
        (0x60000050, "SS", [1, 1]), (0x60000100, "US", 1), (0x60000102, "US", 0),
        (0x60000022, "LO", "Zqxdoe overlay"), (0x60004000, "LT", f"comment {PID}"),
        (0x60003000, "OW", b"\x00" * 8), (0x50000005, "US", 1),
        (0x50002500, "LO", "Zqxdoe curve"), (0x50003000, "OW", b"ZQXDOE-CURVE-DATA"),
    ):  # fmt: skip
        ds.add_new(tag, vr, value)
    icon = Dataset()
    icon.Rows = icon.Columns = 2
    icon.SamplesPerPixel = 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.BitsAllocated = icon.BitsStored = 8
    icon.HighBit = 7
    icon.PixelRepresentation = 0
    icon.PixelData = b"\x00" * 4
    icon.ImageComments = "Zqxdoe icon"
    ds.IconImageSequence = Sequence([icon])
    modified = Dataset()
    modified.PatientName, modified.PatientID = NAME, PID
    original = Dataset()
    original.ModifiedAttributesSequence = Sequence([modified])
    original.SourceOfPreviousValues = "ZQXDOE SOURCE"
    original.AttributeModificationDateTime = "20240101"
    original.ModifyingSystem = "Zqxdoe system"
    original.ReasonForTheAttributeModification = "COERCE"
    ds.OriginalAttributesSequence = Sequence([original])
    request = Dataset()
    request.RequestedProcedureID = PID
    request.RequestedProcedureDescription = "Zqxdoe CT"
    ds.RequestAttributesSequence = Sequence([request])
    other = Dataset()
    other.PatientID, other.TypeOfPatientID = "ZQXOTHERID55", "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    physician = Dataset()
    physician.PersonName = "Zqxdoc^Zqxwho"
    ds.PerformingPhysicianIdentificationSequence = Sequence([physician])
    ds.add(DataElement(0x00101000, "UN", b"ZQXOTHERID55"))  # Other Patient IDs as UN
    ds.add(DataElement(0x00189999, "UN", b"ZQXDOE unknown"))  # an unknown public tag
    ds.add(DataElement(0x00081070, "LO", "Zqxwho^Operator"))  # a PN written as LO
    _raw(ds, 0x00081155, "UI", b"1.2.ZQXPID9876")  # pydicom warns, quoting it
    return ds


def _sr() -> Dataset:
    ds = make_image(patient_id=PID, patient_name=NAME)
    for keyword in ("Rows", "Columns", "PixelData", "ImageType", "PhotometricInterpretation"):
        delattr(ds, keyword)
    ds.SOPClassUID, ds.Modality = EnhancedSRStorage, "SR"

    def item(value_type: str, **values: object) -> Dataset:
        it = Dataset()
        it.RelationshipType, it.ValueType = "CONTAINS", value_type
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "121071", "DCM", "Finding"
        it.ConceptNameCodeSequence = Sequence([code])
        for keyword, value in values.items():
            setattr(it, keyword, value)
        return it

    deep = item("TEXT", TextValue=f"Seen by Zqxdoe Zqxjohn {PID}")
    person = item("PNAME", PersonName="Zqxdoc^Zqxwho")
    level2 = item("CONTAINER", ContinuityOfContent="SEPARATE", ContentSequence=[deep, person])
    level1 = item("CONTAINER", ContinuityOfContent="SEPARATE", ContentSequence=[level2])
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ContentSequence = Sequence([level1, item("TEXT", TextValue="Zqxwho saw it")])
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    return ds


def _refused_pixels() -> Dataset:
    ds = make_image(patient_id=PID, patient_name=NAME, size=8)
    ds.Modality = "US"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = np.zeros(64, np.uint8).tobytes()
    del ds.PhotometricInterpretation
    _raw(ds, 0x00280004, "CS", b"ZQXDOE ZQXPID9876")
    return ds


def _meta(ds: Dataset) -> None:
    ds.file_meta.SourceApplicationEntityTitle = "ZQXDOE"
    ds.file_meta.add(DataElement(0x00020100, "UI", "1.2.3.4"))
    ds.file_meta.add(DataElement(0x00020102, "OB", b"ZQXDOE private meta"))


@pytest.fixture
def hostile_export(tmp_path: Path) -> Path:
    root = tmp_path / "export"
    folder = root / f"Zqxdoe_Zqxjohn_{PID}"  # identity in folder and file names
    for name, ds in (("img.dcm", _image()), ("sr.dcm", _sr()), ("us.dcm", _refused_pixels())):
        path = folder / f"{PID}_{name}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save(ds, path)
            written = pydicom.dcmread(path)
            _meta(written)
            written.preamble = b"ZQXDOE preamble".ljust(128, b"\x00")
            written.save_as(path, enforce_file_format=True)
    return root


def _assert_clean(where: str, data: bytes | str | None) -> None:
    if data is None:  # an absent value (the ledger stores nulls, not '')
        return
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    for secret in SECRETS:
        assert secret.casefold() not in text.casefold(), f"{secret} leaked into {where}"


@pytest.mark.parametrize("recipe", [BASIC, RESEARCH])
def test_planted_identity_reaches_no_output_log_or_public_ledger(
    tmp_path, hostile_export, key_file, capfd, recipe
) -> None:
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    code = run_cli("run", recipe, hostile_export, "--out", out, "--key-file", key_file,
                   "--workers", 1)  # fmt: skip
    rows = ledger_rows(ledger)
    statuses = sorted(r["status"] for r in rows)
    # the ultrasound is quarantined: Clean Pixel Data refuses its Photometric
    # Interpretation (research), or the residual guard finds the patient in it (basic)
    assert code == 1 and statuses == ["quarantined", "written", "written"]
    assert next(r["reason"] for r in rows if r["status"] == "quarantined")
    for row in rows:
        _assert_clean("a quarantine reason", row["reason"])
    for path in out.rglob("*"):
        _assert_clean("an output name", str(path.relative_to(out)))
        if path.is_file():
            _assert_clean(f"output {path.name}", path.read_bytes())
    info = json.loads((ledger / "run.json").read_text())
    assert "inputs" not in info["options"]  # the input roots live in inputs.json
    assert json.loads((ledger / "inputs.json").read_text())["inputs"]
    _assert_clean("run.json", json.dumps(info, ensure_ascii=False))
    assert run_cli("verify", "--out", out, "--ledger", ledger) == 0
    assert run_cli("report", ledger) in (0, 1)
    captured = capfd.readouterr()
    _assert_clean("the printed output", captured.out + captured.err)


def test_reasons_blank_a_value_after_an_apostrophe() -> None:
    """ "can't" used to pair with the quote that opened the value, leaving it behind."""
    text = describe_error(ValueError("can't convert 'ZQXDOE^ZQXJOHN' to a date"))
    assert "ZQXDOE" not in text and text.startswith("ValueError: can")


def test_prepare_raises_no_warning_that_quotes_a_value(tmp_path) -> None:
    """The duplicate resolver runs ``prepare`` in the client, where warnings are printed:
    an invalid SOP Instance UID made pydicom warn "Invalid value for VR UI: '...'"."""
    ds = make_image(patient_id=PID, patient_name=NAME)
    path = tmp_path / "in.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(ds, path)
        written = pydicom.dcmread(path)
        del written.SOPInstanceUID
        _raw(written, 0x00080018, "UI", b"1.2.ZQXPID9876")
        written.save_as(path, enforce_file_format=True)
    ctx = WorkContext(builtin_recipe("research"), KeyRing(b"k" * 32), tmp_path / "out")
    record = new_record(str(path), ctx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert prepare(str(path), ctx, record) is not None
    for warning in caught:
        _assert_clean("a warning", str(warning.message))


def test_the_ledger_keeps_reasons_value_free(tmp_path, hostile_export, key_file) -> None:
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    run_cli("run", RESEARCH, hostile_export, "--out", out, "--key-file", key_file,
            "--workers", 1)  # fmt: skip
    for part in (ledger / "files").glob("*.parquet"):
        for reason in pq.read_table(part, columns=["reason"]).column("reason").to_pylist():
            _assert_clean("a ledger reason", reason or "")
