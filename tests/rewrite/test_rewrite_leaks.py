"""Regression tests from the leak audit: identity in "safe" private tags and in reasons.

Each test failed before its fix: Retain Safe Private kept a Table E.3.10-1 text value
verbatim (a patient ID typed into GE's Internal Pulse Sequence Name survived), and a
quarantine reason built by the pixel step quoted the value it refused (a Photometric
Interpretation holding the patient's name reached the ledger and the run summary).
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.tag import Tag
from rewrite_support import base_dataset, roundtrip, shipped

from deid.rewrite.engine import deidentify
from deid.rewrite.quarantine import QuarantineError, value_free

NAME = "Zqxdoe^Zqxjohn"
PID = "ZQXPID9876"


def _with_safe_private(value: str) -> object:
    ds = base_dataset(PatientName=NAME, PatientID=PID)
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x0019109E, "LO", value)  # Internal Pulse Sequence Name (Table E.3.10-1)
    ds.add_new(0x00191023, "DS", "1.5")  # Table Speed: a number, kept as is
    return ds


def test_safe_private_text_is_cleaned_of_the_patient(keys) -> None:
    ds = _with_safe_private(f"FSE Zqxdoe {PID}")
    data, out = roundtrip(deidentify(ds, shipped("research"), keys).dataset)
    assert b"ZQXPID9876" not in data.upper() and b"ZQXDOE" not in data.upper()
    assert out[0x0019109E].value == "FSE"  # the vendor's meaning survives
    assert out[0x00191023].value == 1.5
    assert out[0x00190010].value == "GEMS_ACQU_01"


def test_safe_private_text_without_identity_is_kept_verbatim(keys) -> None:
    ds = _with_safe_private("FSE-XL 3D")
    _, out = roundtrip(deidentify(ds, shipped("research"), keys).dataset)
    assert out[0x0019109E].value == "FSE-XL 3D"


def test_safe_private_undecoded_bytes_with_identity_are_removed(keys) -> None:
    ds = _with_safe_private("FSE")
    del ds[0x0019109E]
    ds.add(DataElement(0x0019109E, "UN", f"seq {PID} ".encode()))
    data, out = roundtrip(deidentify(ds, shipped("research"), keys).dataset)
    assert b"ZQXPID9876" not in data
    assert 0x0019109E not in out


def _explicit_keep():
    from deid.recipe import recipe_from_text

    return recipe_from_text(
        'deid-recipe: 1\nextends: research\nattributes:\n  (0019,"GEMS_ACQU_01",9E): K\n',
        name="explicit-keep",
    )


def test_an_explicit_recipe_keep_of_a_private_is_not_text_cleaned(keys) -> None:
    """Only the option's table is Clean-ed: a site that writes K for a key means it (a
    single name component stays; the residual guard below looks for whole IDs/names)."""
    ds = _with_safe_private("FSE Zqxdoe")
    _, out = roundtrip(deidentify(ds, _explicit_keep(), keys).dataset)
    assert out[0x0019109E].value == "FSE Zqxdoe"


def test_an_explicit_keep_is_verbatim_even_with_the_id(keys) -> None:
    """K written for the attribute is the recipe's decision (verify reports the ID)."""
    ds = _with_safe_private(f"FSE {PID}")
    _, out = roundtrip(deidentify(ds, _explicit_keep(), keys).dataset)
    assert out[0x0019109E].value == f"FSE {PID}"


def test_the_patient_id_in_a_safe_private_code_quarantines_the_file(keys) -> None:
    ds = base_dataset(PatientName=NAME, PatientID=PID)
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    ds.add_new(0x20011004, "CS", PID)  # MR Image Diffusion Direction (Table E.3.10-1)
    with pytest.raises(QuarantineError) as caught:
        deidentify(ds, shipped("research"), keys)
    assert "(2001,1004)" in caught.value.reason
    ds = base_dataset(PatientName=NAME, PatientID=PID)
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    ds.add_new(0x20011004, "CS", "ISOTROPIC")
    _, out = roundtrip(deidentify(ds, shipped("research"), keys).dataset)
    assert out[0x20011004].value == "ISOTROPIC"


def test_the_patient_name_in_a_kept_code_quarantines_the_file(keys) -> None:
    ds = base_dataset(PatientName=NAME, PatientID=PID)
    ds.add(RawDataElement(Tag(0x00080064), "CS", 14, b"ZQXDOE ZQXJOHN", 0, False, True))
    with pytest.raises(QuarantineError) as caught:
        deidentify(ds, shipped("basic"), keys)
    assert "(0008,0064)" in caught.value.reason
    assert "ZQX" not in caught.value.reason.upper()


def _with_code_value(value: str):
    from pydicom.dataset import Dataset

    ds = base_dataset(PatientName=NAME, PatientID=PID)
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "99LOCAL", "Chest"
    ds.AnatomicRegionSequence = [code]
    return ds


@pytest.mark.parametrize("recipe", ["basic", "research"])
def test_the_patient_id_in_a_code_value_quarantines_the_file(keys, recipe: str) -> None:
    """Clean keeps coded values (Code Value, Coding Scheme Designator ...) as they are: a
    patient ID typed into a local Code Value went out verbatim, unguarded."""
    with pytest.raises(QuarantineError) as caught:
        deidentify(_with_code_value(PID), shipped(recipe), keys)
    assert "(0008,0100)" in caught.value.reason
    assert "ZQX" not in caught.value.reason.upper()
    _, out = roundtrip(deidentify(_with_code_value("T-D3000"), shipped(recipe), keys).dataset)
    assert out.AnatomicRegionSequence[0].CodeValue == "T-D3000"  # a real code is kept


def test_a_kept_value_is_left_alone_when_the_recipe_keeps_the_id(keys) -> None:
    from deid.recipe import recipe_from_text

    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: basic\nattributes:\n  PatientID: K\n", name="keep-id"
    )
    ds = base_dataset(PatientName=NAME, PatientID=PID)
    ds.add(RawDataElement(Tag(0x00080064), "CS", 10, PID.encode(), 0, False, True))
    _, out = roundtrip(deidentify(ds, recipe, keys).dataset)
    assert out.ConversionType == PID


@pytest.mark.parametrize("value", [NAME, [NAME, "Other^Person"], f"Seen by {PID}"])
def test_the_guard_finds_the_patient_in_decoded_values(value) -> None:
    """A decoded Person Name is iterable character by character: joined as a list it
    read "Z\\q\\x..." and the patient's name in it was never found."""
    from pydicom.dataset import Dataset

    from deid.rewrite.residual import ResidualGuard
    from deid.rewrite.vr import element_vr

    guard = ResidualGuard(
        base_dataset(PatientName=NAME, PatientID=PID), shipped("basic"), element_vr
    )
    ds = Dataset()  # decoded values, as the gathering pass leaves top-level ones
    ds.add_new(0x00091010, "PN" if "^" in str(value) else "LO", value)
    assert guard.holds_identity(ds, 0x00091010)
    ds.add_new(0x00091011, "PN", "Someone^Else")
    assert not guard.holds_identity(ds, 0x00091011)


def _us_with_photometric(value: bytes):
    ds = base_dataset(PatientName=NAME, PatientID=PID, Modality="US")
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.zeros(64, np.uint8).tobytes()
    ds.add(RawDataElement(Tag(0x00280004), "CS", len(value), value, 0, False, True))
    return ds


def test_quarantine_reasons_never_hold_the_patients_values(keys) -> None:
    ds = _us_with_photometric(b"ZQXDOE ZQXPID9876")
    with pytest.raises(QuarantineError) as caught:
        deidentify(ds, shipped("research"), keys)
    reason = caught.value.reason.upper()
    assert "ZQXDOE" not in reason and "ZQXPID9876" not in reason
    assert "Photometric Interpretation" in caught.value.reason  # still says why


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("can't parse 'ZQXDOE'", "ZQXDOE"),
        ("Invalid value for VR PN: 'O'Brien' here", "Brien"),
        ("unterminated 'ZQXDOE", "ZQXDOE"),
        ("bytes b'ZQX\\x00DOE' left", "ZQX"),
        ('double "ZQXDOE" quoted', "ZQXDOE"),
    ],
)
def test_value_free_blanks_every_quoted_value(message: str, secret: str) -> None:
    text = value_free(message)
    assert secret not in text
    assert "\n" not in text


def test_value_free_keeps_the_words() -> None:
    assert value_free("'utf-8' codec can't decode byte 0xe5") == "'…' codec can’t decode byte 0xe5"


def _jpeg_with_comment(comment: bytes):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    ds = base_dataset(PatientName=NAME, PatientID=PID, Modality="OT")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    frame = b"\xff\xd8" + segment + b"\x00" * 32 + b"\xff\xd9"
    ds.PixelData = encapsulate([frame + b"\x00" * (len(frame) % 2)])
    ds["PixelData"].VR = "OB"
    return ds


def test_the_patient_in_a_jpeg_comment_quarantines_the_file(keys) -> None:
    """Pixel bytes are kept as they are and verify skips bulk data: a JPEG COM segment
    holding the patient's name and ID went out untouched (basic has no pixel step)."""
    ds = _jpeg_with_comment(b"Zqxdoe Zqxjohn " + PID.encode())
    with pytest.raises(QuarantineError) as caught:
        deidentify(ds, shipped("basic"), keys)
    assert "compressed pixel data" in caught.value.reason


def test_a_jpeg_comment_without_the_patient_is_kept(keys) -> None:
    ds = _jpeg_with_comment(b"created by an encoder")
    data, _ = roundtrip(deidentify(ds, shipped("basic"), keys).dataset)
    assert b"created by an encoder" in data
