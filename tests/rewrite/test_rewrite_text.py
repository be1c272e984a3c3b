"""Clean (C) on text and dates: what goes, what stays."""

from __future__ import annotations

import re
from datetime import date

import pytest
from rewrite_support import base_dataset, profile_recipe, shipped

from deid.recipe.model import TextPattern
from deid.rewrite import iod
from deid.rewrite.dates import shift_da, shift_dt
from deid.rewrite.engine import deidentify
from deid.rewrite.textclean import TextCleaner


@pytest.mark.parametrize(
    "spelling",
    [
        "20240131",
        "2024-01-31",
        "2024/01/31",
        "2024.01.31",
        "31/01/2024",
        "01/31/2024",
        "31.01.2024",
        "31-01-2024",
        "31/1/2024",
        "1/31/2024",
        "31/01/24",
        "Jan 31 2024",
        "Jan 31, 2024",
        "31 Jan 2024",
        "January 31, 2024",
        "31 January 2024",
        "jan. 31st 2024",
    ],
)
def test_date_spellings_removed(spelling) -> None:
    cleaner = TextCleaner(dates=[date(2024, 1, 31)])
    assert cleaner.clean(f"scan on {spelling} ok") == "scan on ok"


def test_names_ids_and_word_edges() -> None:
    cleaner = TextCleaner(names=["Li", "Doe", "J"], values=["12345", "St Mary Hospital"])
    assert cleaner.clean("CLINICAL note for DOE, li") == "CLINICAL note for ,"
    assert cleaner.clean("MRN12345 and 123456 and St  Mary  Hospital") == "MRN and 123456 and"
    assert cleaner.clean("J. Smith") == "J. Smith"  # single initials are not removed


def test_recipe_patterns_apply() -> None:
    phone = TextPattern("phone", re.compile(r"\+?\d[\d ()-]{7,}\d"), "[phone]")
    assert TextCleaner(patterns=[phone]).clean("call +44 20 7946 0958 now") == "call [phone] now"


def test_clean_descriptors_keep_the_rest(keys) -> None:
    ds = base_dataset(
        StudyDescription="CT chest for John Doe (PID4455667) 31/01/1970 Saint Elsewhere Hospital",
        SeriesDescription="Doe",
    )
    deidentify(ds, profile_recipe("clean-descriptors"), keys)
    text = str(ds.StudyDescription)
    assert "CT chest for" in text
    for gone in ("John", "Doe", "PID4455667", "1970", "Elsewhere"):
        assert gone not in text
    assert ds.SeriesDescription == "ANONYMIZED"  # nothing left: the dummy keeps it valid


def test_retained_institution_is_not_scrubbed_from_text(keys) -> None:
    ds = base_dataset(StudyDescription="Saint Elsewhere Hospital protocol")
    deidentify(ds, profile_recipe("clean-descriptors", "retain-institution-identity"), keys)
    assert ds.InstitutionName == "Saint Elsewhere Hospital"
    assert "Saint Elsewhere Hospital" in str(ds.StudyDescription)


def test_date_shift_values() -> None:
    assert shift_da("20240131", -31) == "20231231"
    assert shift_da("20240101-20240131", 1) == "20240102-20240201"
    assert shift_da("20240101-", 1) == "20240102-"
    assert shift_da("2024.01.31", 1) == "20240201"
    assert shift_da("20240231", 1) == "" and shift_da("junk", 1) == ""
    assert shift_dt("20240131235959.123456+0100", 1) == "20240201235959.123456+0100"
    assert shift_dt("20240131-0500", 1) == "20240201-0500"
    assert shift_dt("2024", 1) == ""  # a year cannot be shifted by days exactly


def test_dates_shift_consistently_within_patient(keys) -> None:
    a = base_dataset(
        StudyDate="20240131", SeriesDate="20240201", AcquisitionDateTime="20240131120000"
    )
    a.StudyTime = "101530"
    deidentify(a, shipped("research"), keys)
    days = keys.date_offset_days("PID4455667", -3650, -365)
    assert a.StudyDate == shift_da("20240131", days)
    assert a.SeriesDate == shift_da("20240201", days)
    assert a.AcquisitionDateTime == shift_da("20240131", days) + "120000"
    assert a.StudyTime == "101530"
    b = base_dataset(StudyDate="20240301")
    deidentify(b, shipped("research"), keys)
    assert b.StudyDate == shift_da("20240301", days)  # same patient, same offset


def test_ages_capped_and_kept(keys) -> None:
    recipe = profile_recipe("retain-patient-characteristics")
    ds = base_dataset(PatientAge="095Y", PatientWeight="70")
    deidentify(ds, recipe, keys)
    assert ds.PatientAge in ("095Y", "090Y")  # K keeps; C caps
    from deid.rewrite.engine import _cap_age

    assert _cap_age("095Y") == "090Y" and _cap_age("089Y") == "089Y" and _cap_age("100M") == "100M"
    basic = base_dataset(PatientAge="045Y")
    deidentify(basic, shipped("basic"), keys)
    assert "PatientAge" not in basic  # ages only with Retain Patient Characteristics


def test_compound_resolution_table() -> None:
    ct, sr, rt = (
        "1.2.840.10008.5.1.4.1.1.2",
        "1.2.840.10008.5.1.4.1.1.88.22",
        "1.2.840.10008.5.1.4.1.1.481.5",
    )
    enhanced = "1.2.840.10008.5.1.4.1.1.4.1"
    assert iod.resolve("Z/D", 0x00080023, ct) == "Z"  # Content Date: Type 2 in images
    assert iod.resolve("Z/D", 0x00080023, sr) == "D"  # Type 1 in SR
    assert iod.resolve("X/Z/D", 0x00081070, ct) == "X"  # Operators' Name: Type 3
    assert iod.resolve("X/Z/D", 0x00081070, rt) == "Z"  # Type 2 in RT Series
    assert iod.resolve("X/Z/D", 0x00181000, enhanced) == "D"  # Device Serial Number
    assert iod.resolve("X/Z", 0x300A00B2, rt) == "Z"
    assert iod.resolve("X/D", 0x00080021, ct) == "X"
    assert iod.resolve("X/Z/U*", 0x00081140, ct) == "U"
    assert iod.resolve("X/Z", 0x00102203, ct, is_animal=True) == "Z"
    assert iod.resolve("X/Z", 0x00102203, ct) == "X"
