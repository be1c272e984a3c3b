"""Leak-audit regressions for verify: the patient's own name and ID inside a kept value.

Rule 3 of :mod:`deid.verification.values` skipped any needle contained in a value the
recipe keeps verbatim, so a Patient ID typed into a kept Station Name, or into a Table
E.3.10-1 "safe" private text, was invisible to ``deid verify`` (and to ``run --verify``).
"""

from __future__ import annotations

import io

import pydicom
from verify_data import PATIENT_ID, PATIENT_NAME, make_dataset, to_bytes

from deid.recipe import builtin_recipe, recipe_from_text
from deid.verification.check import check_pair, identifying_values


def _output_with(original_bytes: bytes, change) -> bytes:
    """A stand-in output: the original with a change (the scan only reads bytes)."""
    ds = pydicom.dcmread(io.BytesIO(original_bytes))
    for keyword in ("PatientName", "PatientID"):
        setattr(ds, keyword, "")
    change(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_patient_id_inside_an_explicitly_kept_value_is_found() -> None:
    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: basic\nattributes:\n  StationName: K\n", "keep-station"
    )
    ds = make_dataset()
    ds.StationName = f"ST {PATIENT_ID}"
    assert PATIENT_ID in {value for _, value in identifying_values(ds, recipe)}
    original = to_bytes(ds)
    output = _output_with(original, lambda out: None)  # the station kept verbatim
    findings = check_pair(pydicom.dcmread(io.BytesIO(original)), output, "x.dcm", recipe)
    assert ("StationName", "patient-id") in {(f.path, f.kind) for f in findings}


def test_patient_id_inside_a_safe_private_value_is_found() -> None:
    recipe = builtin_recipe("research")
    ds = make_dataset()
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x0019109E, "LO", f"FSE {PATIENT_ID}")
    original = to_bytes(ds)
    output = _output_with(original, lambda out: None)  # as if the engine kept it verbatim
    findings = check_pair(pydicom.dcmread(io.BytesIO(original)), output, "x.dcm", recipe)
    assert "patient-id" in {f.kind for f in findings}


def test_name_components_in_kept_codes_are_still_skipped() -> None:
    """Only whole names are searched in kept values: "Name" of "Last Name^First Name"
    is in code meanings everywhere (pydicom's reportsi.dcm)."""
    ds = make_dataset(patient_name="Last Name^First Name")
    ds.ConversionType = "WSD"
    ds.ImageComments = "Recording Observer's Name"
    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: basic\nattributes:\n  ImageComments: K\n", "keep-comments"
    )
    values = {value.casefold() for _, value in identifying_values(ds, recipe)}
    assert "name" not in values
    assert "last name^first name" in values


def test_whole_patient_name_inside_a_kept_value_is_found() -> None:
    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: basic\nattributes:\n  ImageComments: K\n", "keep-comments"
    )
    ds = make_dataset()
    spaced = PATIENT_NAME.replace("^", " ")
    ds.ImageComments = f"seen: {spaced}"
    values = {value for _, value in identifying_values(ds, recipe)}
    assert spaced in values
