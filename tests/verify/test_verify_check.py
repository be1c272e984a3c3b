"""check_pair and identifying_values: a clean output is clean, every planted leak is found."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from verify_data import (
    ADDRESS,
    INSTITUTION,
    PATIENT_ID,
    PATIENT_NAME,
    PHYSICIAN,
    make_dataset,
    to_bytes,
    uid,
)

from deid.recipe import recipe_from_text
from deid.verification.check import Finding, check_pair, gather_identifying, identifying_values
from deid.verification.scan import read_output, scan_dataset


def _values(pairs: list[tuple[str, str]]) -> set[str]:
    return {value for _, value in pairs}


def test_clean_output_has_no_findings(pair):
    recipe, original, output = pair
    assert check_pair(original, output, "2.25.1/2.25.2/2.25.3.dcm", recipe) == []


def test_identifying_values_cover_identity(basic_pair):
    recipe, original, _ = basic_pair
    pairs = identifying_values(original, recipe)
    kinds = dict((value, kind) for kind, value in pairs)
    assert kinds["Quetzalcoatl"] == "patient-name"
    assert kinds[PATIENT_NAME] == "patient-name"
    assert kinds[PATIENT_ID] == "patient-id"
    assert kinds[ADDRESS] == "address"
    assert kinds[INSTITUTION] == "institution"
    assert kinds["Hargreaves"] == "person-name"
    assert kinds[uid(1)] == "uid"
    for spelling in ("20230914", "2023-09-14", "14/09/2023", "09/14/2023", "14.09.2023"):
        assert kinds[spelling] == "date"
    assert kinds["19610317"] == "date"


def test_short_generic_and_well_known_values_are_skipped(basic_pair):
    recipe, original, _ = basic_pair
    values = _values(identifying_values(original, recipe))
    assert all(len(v) >= 4 for v in values)
    assert "F" not in values and "CT" not in values  # PatientSex, Modality
    assert "1.2.840.10008.5.1.4.1.1.2" not in values  # CT Image Storage: a well-known UID
    assert "101500" not in values  # a time of day
    assert "42.5" not in values  # a short number in the private block


def test_kept_values_are_not_identifying(pair):
    recipe, original, _ = pair
    pairs = identifying_values(original, recipe)
    kinds = {kind for kind, _ in pairs}
    if recipe.uids.mode == "keep":
        assert "uid" not in kinds
    if recipe.dates.mode == "keep":
        assert "date" not in kinds
    if recipe.has_option("clean-descriptors"):
        # cleaned, not removed: the text may survive when nothing in it identifies anyone
        assert "CT chest with contrast" not in _values(pairs)


def test_value_kept_elsewhere_in_the_dataset_is_skipped():
    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: basic\nattributes:\n  ProtocolName: K\n", "keep-protocol"
    )
    ds = make_dataset()
    ds.StationName = "CTSTATION77"
    ds.ProtocolName = "Chest CTSTATION77 routine"  # kept verbatim, contains the station
    ds.ManufacturerModelName = "LightSpeed Ultra"  # cleaned: may survive as it is
    ds.private_block(0x0045, "GEMS_X", create=True).add_new(0x01, "LO", "LightSpeed Ultr")
    ds.Manufacturer = INSTITUTION  # cleaned, but an institution must be cleaned out of it
    values = _values(identifying_values(ds, recipe))
    assert "CTSTATION77" not in values
    assert "LightSpeed Ultr" not in values  # private, inside a cleaned value
    assert INSTITUTION in values
    assert PATIENT_ID in values


def _rewrite(output: bytes, change) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(output))
    change(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _nested(ds: Dataset) -> None:
    inner = Dataset()
    inner.ValueType = "TEXT"
    inner.TextValue = f"reviewed for {PATIENT_NAME.replace('^', ' ')}"
    item = Dataset()
    item.ContentSequence = Sequence([inner])
    ds.ContentSequence = Sequence([item])


def _private(ds: Dataset) -> None:
    ds.private_block(0x0011, "PLANTED 1.0", create=True).add_new(0x10, "LO", PATIENT_ID)


def _private_binary(ds: Dataset) -> None:
    blob = b"\x01\x02\x00" + ADDRESS.encode() + b"\x00\xff"
    ds.private_block(0x0013, "PLANTED BLOB", create=True).add_new(0x20, "OB", blob)


def _descriptor(ds: Dataset) -> None:
    ds.SeriesDescription = f"axial {INSTITUTION.upper()} protocol"


def _free_text_date(ds: Dataset) -> None:
    ds.ImageComments = "acquired 14/09/2023 late"


def _file_meta(ds: Dataset) -> None:
    ds.file_meta.ImplementationVersionName = PATIENT_ID


def _old_uid(ds: Dataset) -> None:
    ref = Dataset()
    ref.ReferencedSOPInstanceUID = uid(1)
    ds.ReferencedImageSequence = Sequence([ref])


def _marking(ds: Dataset) -> None:
    ds.DeidentificationMethod = f"deid for {PATIENT_ID}"


def _physician_everywhere(ds: Dataset) -> None:
    ds.PerformingPhysicianName = PHYSICIAN


PLANTS = {
    "nested-sequence": (_nested, "ContentSequence[0].ContentSequence[0].TextValue", "patient-name"),
    "private-block": (_private, "(0011,1010)", "patient-id"),
    "private-binary": (_private_binary, "(0013,1020)", "address"),
    "descriptor": (_descriptor, "SeriesDescription", "institution"),
    "free-text-date": (_free_text_date, "ImageComments", "date"),
    "file-meta": (_file_meta, "file-meta", "patient-id"),
    "old-uid": (_old_uid, "ReferencedImageSequence[0].ReferencedSOPInstanceUID", "uid"),
    "person-name": (_physician_everywhere, "PerformingPhysicianName", "person-name"),
    "marking": (_marking, "DeidentificationMethod", "patient-id"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_planted_leak_is_reported(basic_pair, plant):
    recipe, original, output = basic_pair
    change, path, kind = PLANTS[plant]
    findings = check_pair(original, _rewrite(output, change), "a/b/c.dcm", recipe)
    assert Finding("a/b/c.dcm", path, kind) in findings, [f.line() for f in findings]
    _assert_no_values_in_lines(findings, original, recipe)


def test_planted_leak_in_preamble(basic_pair):
    recipe, original, output = basic_pair
    name = PATIENT_NAME.encode("latin-1")
    tampered = name + output[len(name) :]
    findings = check_pair(original, tampered, "x.dcm", recipe)
    assert findings == [Finding("x.dcm", "preamble", "patient-name")]


def test_leak_in_output_path(basic_pair):
    recipe, original, output = basic_pair
    findings = check_pair(original, output, f"2.25.1/{PATIENT_ID}/2.25.3.dcm", recipe)
    assert findings == [Finding(f"2.25.1/{PATIENT_ID}/2.25.3.dcm", "output-path", "patient-id")]


def test_raw_bytes_are_searched_where_elements_are_not(basic_pair):
    """A value pydicom never decodes (here: bytes past what the parsed data set covers)."""
    recipe, original, output = basic_pair
    ident = gather_identifying(original, recipe)
    clean = read_output(output)
    tampered = output + b"\x00" + ADDRESS.encode("latin-1")
    findings = scan_dataset(ident, tampered, clean, "r.dcm")
    assert findings == [Finding("r.dcm", "raw-bytes", "address")]


def test_case_insensitive_and_charset(basic_pair):
    recipe, original, output = basic_pair

    def shout(ds: Dataset) -> None:
        ds.SeriesDescription = "QUETZALCOATL"

    findings = check_pair(original, _rewrite(output, shout), "c.dcm", recipe)
    assert Finding("c.dcm", "SeriesDescription", "patient-name") in findings


def test_non_ascii_name_found_in_latin1_output(keys):
    from verify_data import deidentify_bytes

    from deid.recipe import builtin_recipe

    recipe = builtin_recipe("basic")
    ds = make_dataset(patient_name="Müllerström^Jörg")
    raw = to_bytes(ds)
    original = pydicom.dcmread(io.BytesIO(raw))
    output = deidentify_bytes(raw, recipe, keys)
    assert check_pair(original, output, "u.dcm", recipe) == []

    def plant(out: Dataset) -> None:
        out.SeriesDescription = "for müllerström"

    findings = check_pair(original, _rewrite(output, plant), "u.dcm", recipe)
    assert Finding("u.dcm", "SeriesDescription", "patient-name") in findings


def test_unreadable_output_is_a_finding(basic_pair):
    recipe, original, _ = basic_pair
    assert check_pair(original, b"\x00" * 10, "bad.dcm", recipe) == [
        Finding("bad.dcm", "file", "unreadable-output")
    ]


def test_numbers_match_as_whole_tokens():
    from deid.recipe import builtin_recipe

    recipe = builtin_recipe("basic")
    ds = make_dataset(patient_id="4471923")
    values = _values(identifying_values(ds, recipe))
    assert "4471923" in values
    out = make_dataset(patient_id="DEID-x")
    out.PatientName = ""
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        setattr(out, keyword, "2.25.9944719230")
    # the old ID appears inside new UIDs as digits only: not a whole token, not a leak
    findings = check_pair(ds, to_bytes(out), "n.dcm", recipe)
    assert not [f for f in findings if f.kind == "patient-id"]


def _assert_no_values_in_lines(findings, original, recipe) -> None:
    values = [v for _, v in identifying_values(original, recipe) if len(v) >= 6]
    for finding in findings:
        line = finding.line().casefold()
        assert not [v for v in values if v.casefold() in line]


def test_raw_bytes_of_deflated_output_are_inflated(basic_pair):
    """Deflated data sets are compressed on disk: the raw search must inflate them first."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    recipe, original, output = basic_pair
    clean = read_output(output)
    leaky = pydicom.dcmread(io.BytesIO(output))
    leaky.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    leaky.SeriesDescription = ADDRESS
    buffer = io.BytesIO()
    leaky.save_as(buffer, enforce_file_format=True)
    deflated = buffer.getvalue()
    assert ADDRESS.encode() not in deflated  # compressed: a plain byte search misses it
    ident = gather_identifying(original, recipe)
    clean.file_meta = read_output(deflated).file_meta  # the parse sees no leak at all
    findings = scan_dataset(ident, deflated, clean, "d.dcm")
    assert Finding("d.dcm", "raw-bytes", "address") in findings
