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


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Inviato dal Dott. Giuseppe Esposito per controllo", "text-name"),
        ("Avis du Pr Dubois demandé", "text-name"),
        ("Informação dada pelo marido Duarte Gonçalves", "text-name"),
        ("Toestemming gegeven door dochter Marloes Visser", "text-name"),
        ("Begleitet von Tochter Sabine Krüger", "text-name"),
        ("Acompañado por su esposa Carmen Sánchez", "text-name"),
        ("PEMBERTON, James - CT chest follow-up", "text-name"),
        ("Dictated EZE, O.", "text-name"),
        ("Radiographer NOVAK^JIRI^^^", "text-name"),
        ("Lives with carer Daan van der Berg", "text-name"),
        ("Images reviewed with Eilidh O'Brien before discharge", "text-name"),
        ("Images reviewed with Francesca Russo before discharge", "text-name"),
        ("Reported by D. de Jong", "text-name"),
        ("Verified by VAN DAM M", "text-name"),
        ("seen by charlotte thompson in clinic", "text-name"),
        ("spouse callum o'brien aware of result", "text-name"),
        ("Patient lives at 27 Larkspur Lane", "text-address"),
        ("Wohnt in Hauptstraße 12", "text-address"),
        ("Domicilio en Calle Mayor 45", "text-address"),
        ("Correspondence to SW1A 1AA", "text-address"),
        ("Prior MRI dated 14-Mar-2021", "text-date"),
        ("Prior MRI dated 3/14/21", "text-date"),
        ("Prior MRI dated 14 de marzo de 2021", "text-date"),
        ("Previous accession AB-12345678 at outside site", "text-id"),
        ("Next of kin tel. 030/1234567", "text-phone"),
        ("Report copy to h.o'neill@example.org", "text-email"),
        ("Uploaded to ftp://files.example.org/x", "text-url"),
    ],
)
def test_gate_sees_every_kind(text, kind) -> None:
    assert kind in text_kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "Siemens Avanto 1.5T, Gadovist 7.5 ml IV",
        "GE Discovery CT750 HD, Omnipaque 350 given",
        "On Apixaban and Metformin, eGFR 58",
        "Medtronic pacemaker, MR Conditional mode programmed",
        "Parkinson disease, DaTscan for confirmation",
        "Baker cyst in the Right popliteal fossa",
        "Hashimoto thyroiditis, ultrasound for nodules",
        "Axial T2 FLAIR, coronal T1 post gadolinium, b1000 DWI, 120kVp",
        "Adressé par Dr [name] pour bilan",
        "Richiesta della Dott.ssa [name]",
        "Verified by [name]",
    ],
)
def test_gate_is_quiet_on_vendors_drugs_eponyms_and_placeholders(text) -> None:
    assert text_kinds(text) == set()


def test_gate_decides_apart_from_the_engine(monkeypatch) -> None:
    """The gate does not ask the engine's finder: with the finder switched off, the gate
    still sees the name and the number."""
    import deid.text.finder as finder
    import deid.text.names as names
    import deid.text.patterns as patterns

    monkeypatch.setattr(names, "find_names", lambda _text: iter(()))
    monkeypatch.setattr(finder, "find", lambda _text: [])
    monkeypatch.setattr(patterns, "phones", lambda _text: iter(()))
    kinds = text_kinds("Consent witnessed by Amara Okafor, call 07700 900123")
    assert {"text-name", "text-phone"} <= kinds
