"""Clean finds the people and identifiers no header names (deid.text.finder)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rewrite_support import base_dataset, shipped

from deid.rewrite.engine import deidentify
from deid.text.finder import find, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lives with carer Maria Lopez; prefers morning slots",
         "Lives with carer [name]; prefers morning slots"),
        ("History given by spouse Jan Kowalski", "History given by spouse [name]"),
        ("Consent witnessed by Amara Okafor; see paper chart",
         "Consent witnessed by [name]; see paper chart"),
        ("Referred by Dr. Hiroshi Tanaka for review", "Referred by Dr. [name] for review"),
        ("REFERRED BY SMITH J FOR REVIEW", "REFERRED BY [name] FOR REVIEW"),
        ("Adressé par Mme Dupont le 12 janvier 2023", "Adressé par Mme [name] le [date]"),
        ("Echtgenote Anke de Vries aanwezig", "Echtgenote [name] aanwezig"),
        ("Copy to DOE^JOHN", "Copy to [name]"),
        ("LOPEZ, Maria seen 31/01/2024", "[name] seen [date]"),
        ("Call 020 7946 0958 or mail j.doe@nhs.net", "Call [phone] or mail [email]"),
        ("MRN 12345678, see https://pacs.example.org/s/1", "MRN [id], see [url]"),
        ("Lives at 221B Baker Street", "Lives at [address]"),
        ("Ｄｒ Ｙａｍａｄａ present", "Ｄｒ [name] present"),
    ],
)  # fmt: skip
def test_unlisted_identifiers_are_replaced(text, expected) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CT chest with contrast, follow-up of nodule",
        "Lives with carer; prefers morning slots",
        "T2 FLAIR axial, b1000 DWI, 120kVp, 5 mm slices, L4-L5",
        "Follow-up in 6 months. Compare with prior from 2019.",
        "Referred by GP for review",
        "Hodgkin lymphoma, restaging PET-CT",
    ],
)
def test_clinical_text_survives(text) -> None:
    assert find(text) == []


def test_research_cleans_every_kept_text(keys) -> None:
    ds = base_dataset(
        PatientComments="Lives with carer Maria Lopez; prefers morning slots",
        AdditionalPatientHistory="History given by spouse Jan Kowalski",
        ImageComments="Consent witnessed by Amara Okafor; see paper chart",
    )
    request = Dataset()
    request.ReasonForTheRequestedProcedure = "Referred by Hiroshi Tanaka for review"
    ds.RequestAttributesSequence = Sequence([request])
    text = Dataset()
    text.ValueType = "TEXT"
    text.TextValue = "Discussed with Priya Patel on 3 March 2021, tel +44 20 7946 0958"
    container = Dataset()
    container.ValueType = "CONTAINER"
    container.ContentSequence = Sequence([text])
    ds.ContentSequence = Sequence([container])
    deidentify(ds, shipped("research"), keys)
    assert ds.PatientComments == "Lives with carer [name]; prefers morning slots"
    assert ds.AdditionalPatientHistory == "History given by spouse [name]"
    assert ds.ImageComments == "Consent witnessed by [name]; see paper chart"
    reason = ds.RequestAttributesSequence[0].ReasonForTheRequestedProcedure
    assert reason == "Referred by [name] for review"
    value = ds.ContentSequence[0].ContentSequence[0].TextValue
    assert value.startswith("Discussed with [name] on [date], tel")  # the recipe's own
    assert not any(c.isdigit() for c in value)  # phone pattern takes the number first


def test_safety_net_clean_keeps_model_names(keys) -> None:
    ds = base_dataset(ManufacturerModelName="Avanto")
    deidentify(ds, shipped("basic"), keys)
    assert ds.ManufacturerModelName == "Avanto"  # a scanner, not a person
