"""The engine and the gate share their DICOM facts (:mod:`deid.dicom`), so they agree.

The date spellings are the case that went wrong (the engine removed ``31/1/24`` from text,
verify never looked for it): here every spelling a generator can produce is given to the
engine's text cleaning and to verify, and whatever the engine removes, verify finds.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from deid.dicom import person_names as person_name
from deid.dicom.date_forms import MONTH_NAMES, date_regex, date_spellings
from deid.dicom.privates import block_creator, private_creators
from deid.dicom.uids import is_well_known_uid
from deid.recipe import builtin_recipe
from deid.rewrite.textclean import TextCleaner
from deid.verification.scan import scan_output
from deid.verification.values import PLACEHOLDER_DATES, gather

SEPARATORS = ["-", "/", ".", " ", "_", ",", ""]
ORDINALS = ["", "st", "nd", "rd", "th"]


@st.composite
def spellings(draw) -> tuple[date, str]:
    """A date and one way of writing it: numeric in three orders with any separators and
    padding, or with the month's name; some are spellings no one removes (``_``, no
    separator, a wrong year), so both answers occur."""
    day = draw(st.dates(date(1900, 1, 1), date(2099, 12, 31)))
    y4, y2 = f"{day.year:04d}", f"{day.year:04d}"[2:]
    dd = draw(st.sampled_from([str(day.day), f"{day.day:02d}"]))
    mm = draw(st.sampled_from([str(day.month), f"{day.month:02d}"]))
    year = draw(st.sampled_from([y4, y2, str(day.year + 1)]))
    s1, s2 = draw(st.sampled_from(SEPARATORS)), draw(st.sampled_from(SEPARATORS))
    full = MONTH_NAMES[day.month - 1]
    month = draw(st.sampled_from([full, full[:3], full[:3] + ".", full.upper(), full.lower()]))
    ordinal = draw(st.sampled_from(ORDINALS))
    comma = draw(st.sampled_from(["", ","]))
    space = draw(st.sampled_from([" ", "  "]))
    form = draw(st.integers(0, 4))
    text = [
        f"{y4}{s1}{mm}{s2}{dd}",
        f"{dd}{s1}{mm}{s2}{year}",
        f"{mm}{s1}{dd}{s2}{year}",
        f"{month}{space}{dd}{ordinal}{comma}{space}{year}",
        f"{dd}{ordinal}{space}{month}{comma}{space}{year}",
    ][form]
    return day, text


def engine_removes(day: date, text: str) -> bool:
    """The engine's Clean text (:class:`TextCleaner`) with this date among the dataset's."""
    sentence = f"seen {text} today"
    return TextCleaner(dates=[day]).clean(sentence) != sentence


def output_with(description: str) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "2.25.1"
    ds.StudyDescription = description
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def original_on(day: date) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.3.4"
    ds.StudyDate = day.strftime("%Y%m%d")
    return ds


@settings(max_examples=400, deadline=None)
@given(spellings())
def test_the_gate_searches_the_spellings_the_engine_removes(case):
    """One grammar: verify's date pattern matches exactly what the engine removes."""
    day, text = case
    found = date_regex((day,)).search(f"seen {text} today") is not None
    assert found == engine_removes(day, text), text


@settings(max_examples=40, deadline=None)
@given(spellings())
def test_verify_finds_every_date_the_engine_would_remove(case):
    """End to end: a removed spelling left in an output's free text is a finding."""
    day, text = case
    if not engine_removes(day, text) or day.strftime("%Y%m%d") in PLACEHOLDER_DATES:
        return  # placeholder dates (19000101 ...): verify's documented decision, rule 2
    recipe = builtin_recipe("basic")
    found = scan_output(gather(original_on(day), recipe), output_with(f"seen {text}"), "o.dcm")
    assert ("StudyDescription", "date") in {(f.path, f.kind) for f in found}, text


@pytest.mark.parametrize("text", ["31/1/24", "1/31/24", "31.1.2024", "31st January, 2024"])
def test_short_spellings_of_the_issue_are_found(text):
    day = date(2024, 1, 31)
    assert engine_removes(day, text)
    recipe = builtin_recipe("basic")
    found = scan_output(gather(original_on(day), recipe), output_with(f"on {text}"), "o.dcm")
    assert ("StudyDescription", "date") in {(f.path, f.kind) for f in found}


def test_literal_spellings_are_all_engine_spellings():
    """The literal forms verify searches in bytes are spellings the engine removes."""
    for day in (date(2024, 1, 31), date(1999, 12, 5), date(2003, 2, 1)):
        for text in date_spellings(day):
            assert engine_removes(day, text), text


def test_name_forms_and_private_creators():
    assert person_name.group_forms("Doe^John^^Dr") == {"Doe^John^^Dr", "Doe John Dr", "DoeJohnDr"}
    assert person_name.components("Doe^ John^") == ["Doe", "John"]
    assert not person_name.is_multi_component("Doe^")
    ds = Dataset()
    ds.add_new(0x00290010, "LO", "ACME 1.0 ")
    ds.add_new(0x00290011, "LO", "")
    ds.add_new(0x00291001, "LO", "value")
    ds.add_new(0x00291101, "LO", "orphan")
    assert private_creators(ds, list(ds.keys())) == {(0x0029, 0x10): "ACME 1.0"}
    assert block_creator(ds, 0x00291001) == "ACME 1.0"
    assert block_creator(ds, 0x00291101) is None  # an empty creator names no block
    assert block_creator(ds, 0x00290010) is None
    assert is_well_known_uid("1.2.840.10008.1.2.1") and not is_well_known_uid("2.25.7")


def test_the_engine_and_verify_import_the_vocabulary():
    """No copy left behind: each fact is the vocabulary's object in every user."""
    from deid.dicom import privates, uids, vrs
    from deid.rewrite import engine, residual, vr
    from deid.verification import values

    assert engine.is_well_known_uid is uids.is_well_known_uid is values.is_well_known_uid
    assert engine.is_safe_private_keep is privates.is_safe_private_keep
    assert values.is_safe_private_keep is privates.is_safe_private_keep
    assert vr.TEXT_VRS is vrs.TEXT_VRS and engine.TEXT_VRS is vrs.TEXT_VRS
    assert residual.person_name is person_name


def test_text_cleaning_and_the_text_scope_use_the_vocabulary_too():
    """PN splitting, text VRs and English month names are written once, in deid.dicom."""
    from deid.dicom import date_forms, syntax, vrs
    from deid.pipeline import per_file
    from deid.rewrite import textclean
    from deid.text import patterns, scope

    assert textclean.name_parts is person_name.name_parts
    assert scope.TEXT_VRS is vrs.TEXT_VRS
    english = {m.lower() for m in (*date_forms.MONTH_NAMES, *date_forms.MONTH_ABBREVIATIONS)}
    assert english <= set(patterns.MONTHS)
    assert per_file.transfer_syntax_of is syntax.transfer_syntax_of


def test_name_parts_are_what_text_cleaning_removes():
    parts = person_name.name_parts("Doe^John^^Dr=山田^太郎")
    assert set(parts) == {
        "Doe", "John", "Dr", "Doe John Dr", "DoeJohnDr", "山田", "太郎", "山田 太郎", "山田太郎",
    }  # fmt: skip
    assert not any(person_name.name_parts("=^"))  # nothing to remove (the cleaner skips "")
    cleaner = TextCleaner(names=parts)
    assert cleaner.clean("CT for Doe John Dr, 山田太郎 seen") == "CT for , seen"
