"""Property: after the Basic Profile, no planted identifying value survives anywhere.

Hypothesis builds datasets whose patient name, ID, accession number, birth date and
institution are random tokens, then plants those same tokens in random places: free-text
attributes the table lists, text attributes it does not list (safety-net Clean), private
blocks, and items of nested sequences. The written Part 10 bytes must contain none of
them, in any letter case or common date spelling.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rewrite_support import base_dataset, shipped

from deid.rewrite.engine import deidentify
from deid.rewrite.keyring import KeyRing
from deid.rewrite.writer import encode_part10

# Text attributes: listed in Table E.1-1 (X/D/Z ...) or not (safety net C: LO SH LT ST UT).
TEXT_TARGETS = [
    ("StudyDescription", "LO"),
    ("SeriesDescription", "LO"),
    ("ImageComments", "LT"),
    ("PatientComments", "LT"),
    ("AdditionalPatientHistory", "LT"),
    ("ProtocolName", "LO"),
    ("CodeMeaning", "LO"),  # not in the table: cleaned by the safety net
    ("TextValue", "UT"),  # not in the table (SR): cleaned
    ("ReasonForStudy", "LO"),
    ("DerivationDescription", "ST"),  # not in the table: cleaned
    ("OperatorsName", "PN"),
    ("OtherPatientNames", "PN"),
    ("ConsultingPhysicianName", "PN"),
]
CONTAINERS = [
    "DerivationCodeSequence",
    "ReferencedStudySequence",
    "ContentSequence",
    "AnatomicRegionSequence",
]

name_token = st.text(alphabet="BCDFGHJKLMNPQRSTVWXZ", min_size=6, max_size=9).map(str.capitalize)
id_token = st.text(alphabet="0123456789", min_size=7, max_size=10).map(lambda s: "9" + s)
birth = st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31))
separator = st.sampled_from([" ", ", ", ": ", " (", "-", "/", "\t", " #"])


@st.composite
def planted(draw):
    family, given_name = draw(name_token), draw(name_token)
    pid, accession = draw(id_token), draw(id_token)
    born = draw(birth)
    institution = draw(name_token) + " Clinic"
    ds = base_dataset(
        PatientName=f"{family}^{given_name}",
        PatientID=pid,
        AccessionNumber=accession,
        PatientBirthDate=born.strftime("%Y%m%d"),
        InstitutionName=institution,
    )
    spellings = [
        born.strftime(f) for f in ("%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y")
    ]
    spellings.append(born.strftime("%b %d %Y").replace(" 0", " "))
    values = [family, given_name, pid, accession, institution]
    pool = [family, given_name, f"{given_name} {family}", pid, accession, institution, *spellings]
    for _ in range(draw(st.integers(1, 6))):
        keyword, vr = draw(st.sampled_from(TEXT_TARGETS))
        token = draw(st.sampled_from(pool))
        text = f"note{draw(separator)}{token}{draw(separator)}end"
        if vr == "PN":
            text = token.replace(" ", "^")
        where = draw(st.sampled_from(["top", "nested", "deep", "private"]))
        if where == "private":
            block = draw(st.integers(0x10, 0xFF))
            ds.add(DataElement(0x00290000 | block, "LO", "PLANTED CREATOR"))
            ds.add(DataElement(0x00290000 | (block << 8) | 0x01, "LT", text))
            continue
        target = ds
        for _ in range(1 if where == "nested" else 3 if where == "deep" else 0):
            item = Dataset()
            setattr(target, draw(st.sampled_from(CONTAINERS)), Sequence([item]))
            target = item
        setattr(target, keyword, text)
    return ds, values, spellings


def _research_without_pixels():
    recipe = shipped("research")
    return dataclasses.replace(recipe, pixels=dataclasses.replace(recipe.pixels, enabled=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_no_planted_value_survives_basic(case) -> None:
    ds, values, spellings = case
    deidentify(ds, shipped("basic"), KeyRing(b"property"))
    data = encode_part10(ds).upper()
    for value in values + spellings:
        assert value.upper().encode() not in data, value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_no_planted_value_survives_research(case) -> None:
    """Research keeps descriptions (Clean) and shifts dates: the planted values still go."""
    ds, values, spellings = case
    deidentify(ds, _research_without_pixels(), KeyRing(b"property"))
    data = encode_part10(ds).upper()
    for value in values + spellings:
        assert value.upper().encode() not in data, value


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(planted())
def test_no_planted_value_survives_basic_at_length(case) -> None:
    """The same property, at length (``pytest -m slow``)."""
    ds, values, spellings = case
    deidentify(ds, shipped("basic"), KeyRing(b"property-long"))
    data = encode_part10(ds).upper()
    for value in values + spellings:
        assert value.upper().encode() not in data, value
