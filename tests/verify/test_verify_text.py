"""The gate's new eyes: full-width names, names split over two values, UTF-16 in private
OB, unlisted names in kept free text, and no false alarm from a common-word institution."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from verify_data import deidentify_bytes, make_dataset, to_bytes

from deid.recipe import builtin_recipe, recipe_from_text
from deid.verification.check import check_pair
from deid.verification.textscan import text_kinds

NAME = "Skutathlyx^Ottilie"


def _original(**changes) -> tuple[Dataset, bytes]:
    ds = make_dataset(patient_name=NAME)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    raw = to_bytes(ds)
    return pydicom.dcmread(io.BytesIO(raw)), raw


def _plant(output: bytes, edit) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(output))
    edit(ds)
    return to_bytes(ds)


@pytest.fixture(scope="module")
def research_pair(keys):
    recipe = builtin_recipe("research")
    original, raw = _original()
    return recipe, original, deidentify_bytes(raw, recipe, keys)


def test_clean_research_output_has_no_findings(research_pair) -> None:
    recipe, original, output = research_pair
    assert check_pair(original, output, "o.dcm", recipe) == []


def test_full_width_name_under_iso_2022_ir_87(research_pair) -> None:
    recipe, original, output = research_pair

    def edit(ds: Dataset) -> None:
        ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
        ds.ImageComments = "ＳＫＵＴＡＴＨＬＹＸ"  # full-width Latin, JIS X 0208

    planted = _plant(output, edit)
    assert b"\x1b$B" in planted  # really written under ISO 2022 IR 87
    findings = check_pair(original, planted, "o.dcm", recipe)
    assert ("ImageComments", "patient-name") in {(f.path, f.kind) for f in findings}


def test_name_split_across_two_elements(research_pair) -> None:
    recipe, original, output = research_pair

    def edit(ds: Dataset) -> None:
        ds.SeriesDescription = "series Skuta"
        ds.ProtocolName = "thlyx part"

    findings = check_pair(original, _plant(output, edit), "o.dcm", recipe)
    assert "patient-name" in {f.kind for f in findings}


def test_utf16_name_in_private_ob(keys) -> None:
    recipe = recipe_from_text(
        'deid-recipe: 1\nextends: research\nattributes:\n  (0029,"ACME IMAGING 1.0",20): K\n',
        "keep-ob",
    )
    ds = make_dataset(patient_name=NAME)
    block = ds.private_block(0x0029, "ACME IMAGING 1.0", create=True)
    block.add_new(0x20, "OB", "note: Skutathlyx".encode("utf-16-le"))
    raw = to_bytes(ds)
    output = deidentify_bytes(raw, recipe, keys)
    assert "Skutathlyx".encode("utf-16-le") in output  # kept verbatim, as the recipe asks
    findings = check_pair(pydicom.dcmread(io.BytesIO(raw)), output, "o.dcm", recipe)
    assert "patient-name" in {f.kind for f in findings}


@pytest.mark.parametrize(
    "text",
    [
        "Lives with carer Amara Okafor; prefers morning slots",
        "History given by spouse Kowalczyk",
        "Consent witnessed by Nurse Haldane; see paper chart",
        "Reviewed with Dr Zbigniew",
        "Copy to DOE^JOHN",
        "Call 07700 900123 about results",
        "Mail j.doe@example.org",
        "Scanned 14/03/2021",
        "MRN 88812345",
    ],
)
def test_gate_sees_unlisted_identifiers_in_kept_text(research_pair, text) -> None:
    recipe, original, output = research_pair

    def edit(ds: Dataset) -> None:
        ds.ImageComments = text

    findings = check_pair(original, _plant(output, edit), "o.dcm", recipe)
    assert any(f.path == "ImageComments" and f.kind.startswith("text-") for f in findings)


@pytest.mark.parametrize(
    "text",
    [
        "CT chest with contrast, follow-up of nodule",
        "Lives with carer [name]; prefers morning slots",
        "Referred by GP for review",
        "Hodgkin lymphoma, restaging",
        "Follow-up in 6 months, compare with prior 2019",
    ],
)
def test_gate_is_quiet_on_clinical_text(text) -> None:
    assert text_kinds(text) == set()


def test_common_word_institution_is_no_leak_in_rtplan(keys) -> None:
    """pydicom's rtplan: a nested Institution Name "Here" against "Manufacturer name here"."""
    recipe = builtin_recipe("basic")
    ds = pydicom.dcmread(get_testdata_file("rtplan.dcm"))
    del ds.InstitutionName  # only the nested one is left: the engine cannot know it
    raw = to_bytes(ds)
    output = deidentify_bytes(raw, recipe, keys)
    assert b"name here" in output
    assert check_pair(pydicom.dcmread(io.BytesIO(raw)), output, "o.dcm", recipe) == []

    def copy(out: Dataset) -> None:  # the same word as a whole institution value is a leak
        out.InstitutionName = "Here"

    findings = check_pair(pydicom.dcmread(io.BytesIO(raw)), _plant(output, copy), "o.dcm", recipe)
    assert ("InstitutionName", "institution") in {(f.path, f.kind) for f in findings}
