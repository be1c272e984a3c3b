"""The table's pattern rows: (50xx,xxxx), (60xx,3000), (60xx,4000) and private attributes."""

from __future__ import annotations

import csv

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rewrite_support import base_dataset, profile_recipe, roundtrip, shipped

from deid.recipe.model import PrivateKey
from deid.resources import standard_table
from deid.rewrite.engine import deidentify

OVERLAY = 0x6002


def _with_overlay(ds: Dataset) -> Dataset:
    g = OVERLAY << 16
    ds.add(DataElement(g | 0x0010, "US", 8))  # Overlay Rows
    ds.add(DataElement(g | 0x0011, "US", 8))  # Overlay Columns
    ds.add(DataElement(g | 0x0040, "CS", "G"))  # Overlay Type
    ds.add(DataElement(g | 0x0050, "SS", [1, 1]))  # Overlay Origin
    ds.add(DataElement(g | 0x0100, "US", 1))  # Overlay Bits Allocated
    ds.add(DataElement(g | 0x0102, "US", 0))  # Overlay Bit Position
    ds.add(DataElement(g | 0x4000, "LT", "Overlay by Doe kept words"))  # Overlay Comments
    ds.add(DataElement(g | 0x3000, "OW", b"\xff" * 8))  # Overlay Data
    return ds


@pytest.mark.parametrize("options", [(), ("clean-graphics",)])
def test_overlay_group_removed_with_its_data(options, keys) -> None:
    """X (basic) and C (clean graphics, overlays not scanned) both remove the overlay."""
    ds = _with_overlay(base_dataset())
    deidentify(ds, profile_recipe(*options), keys)
    _, out = roundtrip(ds)
    assert not [t for t in list(out.keys()) if t >> 16 == OVERLAY]


def test_overlay_comments_cleaned_when_overlay_data_kept(keys) -> None:
    """(60xx,4000) C under Clean Graphics, with a recipe that keeps overlay data."""
    from deid.recipe import recipe_from_text

    recipe = recipe_from_text(
        "deid-recipe: 1\nprofile: basic\noptions: [clean-graphics]\n"
        'attributes:\n  "(60xx,3000)": K\n',
        name="keep-overlays",
    )
    ds = _with_overlay(base_dataset())
    deidentify(ds, recipe, keys)
    _, out = roundtrip(ds)
    assert out[(OVERLAY << 16) | 0x3000].value == b"\xff" * 8
    comments = str(out[(OVERLAY << 16) | 0x4000].value)
    assert "Doe" not in comments and "kept words" in comments


@pytest.mark.parametrize("options", [(), ("clean-graphics",)])
def test_curve_groups_removed(options, keys) -> None:
    ds = base_dataset()
    ds.add(DataElement(0x50020005, "US", 2))  # Curve Dimensions
    ds.add(DataElement(0x50023000, "OW", b"\x00\x01" * 4))  # Curve Data
    deidentify(ds, profile_recipe(*options), keys)
    assert not [t for t in list(ds.keys()) if t >> 16 == 0x5002]


def _private(ds: Dataset, group: int, creator: str, block: int, elements: dict) -> None:
    ds.add(DataElement((group << 16) | block, "LO", creator))
    for low, (vr, value) in elements.items():
        ds.add(DataElement((group << 16) | (block << 8) | low, vr, value))


def _safe_rows() -> list[dict[str, str]]:
    with standard_table("safe_private_attributes.csv").open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["vr"] in ("DS", "LO", "SH", "US", "IS", "CS")]


def test_private_removed_by_basic_profile(keys) -> None:
    ds = base_dataset()
    _private(ds, 0x0029, "ACME 1.0", 0x10, {0x01: ("LO", "Doe John"), 0x02: ("DS", "1.5")})
    ds.add(DataElement(0x00291001, "LO", "no creator"))  # (0029,1001): block 0x10 is taken
    ds.add(DataElement(0x00330005, "LO", "reserved range"))
    ds.add(DataElement(0x00331101, "LO", "orphan: no (0033,0011)"))
    deidentify(ds, profile_recipe(), keys)
    assert not [t for t in list(ds.keys()) if (t >> 16) & 1]


def test_retain_safe_private_keeps_exactly_the_table(keys) -> None:
    row = _safe_rows()[0]
    group, low = int(row["group"], 16), int(row["element_in_block"], 16)
    value = {"DS": "1.5", "IS": "3", "US": 3, "CS": "A", "LO": "x", "SH": "x"}[row["vr"]]
    ds = base_dataset()
    # The safe element sits in block 0x12 (blocks move between files: matched by creator).
    _private(
        ds, group, row["private_creator"], 0x12, {low: (row["vr"], value), 0xFE: ("LO", "Doe")}
    )
    # Same group and element under another creator: not safe.
    _private(ds, group, "SOMEONE ELSE", 0x13, {low: (row["vr"], value)})
    recipe = profile_recipe("retain-safe-private")
    assert PrivateKey(group, row["private_creator"], low) in recipe.safe_private
    deidentify(ds, recipe, keys)
    _, out = roundtrip(ds)
    kept = sorted(t for t in list(out.keys()) if (t >> 16) & 1)
    assert kept == [(group << 16) | 0x12, (group << 16) | 0x1200 | low]
    assert out[(group << 16) | 0x12].value == row["private_creator"]


def test_private_sequences_nested_are_handled(keys) -> None:
    """A kept private sequence is recursed: standard attributes inside follow the rules."""
    from deid.recipe import recipe_from_text

    recipe = recipe_from_text(
        'deid-recipe: 1\nprofile: basic\nprivate-creators:\n  "ACME SEQ": K\n', name="keep-acme"
    )
    item = Dataset()
    item.PatientName = "Doe^John"
    item.add(DataElement(0x00410010, "LO", "OTHER"))
    item.add(DataElement(0x00411001, "LO", "inner private"))
    ds = base_dataset()
    ds.add(DataElement(0x00410010, "LO", "ACME SEQ"))
    ds.add(DataElement(0x00411001, "SQ", Sequence([item])))
    deidentify(ds, recipe, keys)
    inner = ds[0x00411001].value[0]
    assert "PatientName" not in inner or str(inner.PatientName) == ""
    assert 0x00411001 not in inner  # its own block OTHER has no rule: removed
    assert 0x00410010 not in inner


def test_research_recipe_keeps_safe_private_of_a_real_file(keys) -> None:
    """CT_small.dcm (GE): research keeps only Table E.3.10-1 keys, with their creators."""
    import pydicom
    from pydicom.data import get_testdata_file

    recipe = shipped("research")
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    deidentify(ds, recipe, keys)
    creators = {}
    for tag in list(ds.keys()):
        if (tag >> 16) & 1 and 0x10 <= (tag & 0xFFFF) <= 0xFF:
            creators[(tag >> 16, tag & 0xFF)] = ds[tag].value
    for tag in list(ds.keys()):
        if (tag >> 16) & 1 and (tag & 0xFFFF) >= 0x1000:
            creator = creators[(tag >> 16, (tag >> 8) & 0xFF)]
            assert PrivateKey(tag >> 16, creator, tag & 0xFF) in recipe.safe_private
