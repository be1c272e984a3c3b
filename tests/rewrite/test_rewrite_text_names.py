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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # titles and cues in several languages
        ("Inviato dal Dott. Giuseppe Esposito per favore", "Inviato dal Dott. [name] per favore"),
        ("Richiesta della Dott.ssa Bianchi", "Richiesta della Dott.ssa [name]"),
        ("Avis du Pr Dubois demandé", "Avis du Pr [name] demandé"),
        ("Remitido por Dra. Lucía Ortega para control", "Remitido por Dra. [name] para control"),
        ("Acompañado por su esposa Carmen Sánchez", "Acompañado por su esposa [name]"),
        ("Encaminhado pelo Dr. Gonçalo Ferreira", "Encaminhado pelo Dr. [name]"),
        ("Informação dada pelo marido Duarte Gonçalves", "Informação dada pelo marido [name]"),
        ("Besproken met mevr. Bakker", "Besproken met mevr. [name]"),
        ("Rücksprache mit Herrn Schulze", "Rücksprache mit Herrn [name]"),
        # person name forms
        ("Copy to WOJCIK^PIOTR", "Copy to [name]"),
        ("PEMBERTON, James - CT chest follow-up", "[name] - CT chest follow-up"),
        ("Signed KOWALSKI, P.", "Signed [name]"),
        ("Operator DELA CRUZ^MARICEL^^^", "Operator [name]"),
        # particles, O' and Mc names
        ("Witnessed by Inés de la Cruz; see chart", "Witnessed by [name]; see chart"),
        ("Lives with carer Daan van der Berg", "Lives with carer [name]"),
        ("Images reviewed with Eilidh O'Brien before discharge",
         "Images reviewed with [name] before discharge"),
        ("Discussed with Callum McDonald", "Discussed with [name]"),
        # initials
        ("Reported by J. Smith", "Reported by [name]"),
        ("Verified by SMITH J", "Verified by [name]"),
        ("Reported by D. de Jong", "Reported by [name]"),
        # lower case after a cue
        ("seen by charlotte thompson in clinic", "seen by [name] in clinic"),
        ("spouse niamh o'brien aware of result", "spouse [name] aware of result"),
        # names of other origins with no cue
        ("Images reviewed with Francesca Russo before discharge",
         "Images reviewed with [name] before discharge"),
        ("Ngozi Okafor asked for copy of images", "[name] asked for copy of images"),
        # identifiers with a shape
        ("Bleep (020) 7946 0958 when ready", "Bleep [phone] when ready"),
        ("Questions to callum.o'brien@example.org", "Questions to [email]"),
        ("See http://intranet.local/pacs?id=5 now", "See [url] now"),
        ("Patient lives at 27 Larkspur Lane", "Patient lives at [address]"),
        ("Wohnt in Hauptstraße 12", "Wohnt in [address]"),
        ("Previous accession AB-12345678 at outside site",
         "Previous accession [id] at outside site"),
        ("Outside number 12345678/21", "Outside number [phone]"),
        ("Prior MRI dated 14-Mar-2021", "Prior MRI dated [date]"),
        ("Prior MRI dated 14 de marzo de 2021", "Prior MRI dated [date]"),
        ("Prior MRI dated March 14th, 2021", "Prior MRI dated [date]"),
        ("Prior MRI dated 5. Mai 2020", "Prior MRI dated [date]"),
        ("Prior MRI dated 2021/03/14", "Prior MRI dated [date]"),
    ],
)  # fmt: skip
def test_every_kind_of_unlisted_identifier(text, expected) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Siemens Avanto 1.5T, Gadovist 7.5 ml IV",
        "GE Discovery CT750 HD, Omnipaque 350 given",
        "On Apixaban and Metformin, eGFR 58",
        "Medtronic pacemaker, MR Conditional mode programmed",
        "Parkinson disease, DaTscan for confirmation",
        "Baker cyst in the Right popliteal fossa",
        "Foley catheter in situ, NG tube tip in stomach",
        "Hashimoto thyroiditis, ultrasound for nodules",
        "Echo: Simpson biplane ejection fraction 45 %",
        "Nach Gabe von Buscopan keine Artefakte",
        "MRCP shows CBD stone, ERCP planned",
        "Prostate MRI, Gleason 3+4 on biopsy",
        "Referred by GP for review",
        "seen by the team in clinic",
        "discussed with radiology by phone",
    ],
)
def test_clinical_terms_drugs_vendors_survive(text) -> None:
    assert find(text) == []
