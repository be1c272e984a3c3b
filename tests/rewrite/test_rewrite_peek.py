"""Reading identifying values without converting elements gives pydicom's own values."""

from __future__ import annotations

import warnings

import pydicom
from pydicom.data import get_testdata_files
from pydicom.dataelem import RawDataElement
from rewrite_support import base_dataset, roundtrip, shipped

from deid.rewrite.engine import _top_level_rewritten
from deid.rewrite.textclean import UNSURE, gather_identifiers, peek_value
from deid.rewrite.vr import element_vr


def _values_equal(a: object, b: object) -> bool:
    return type(a) is type(b) and str(a) == str(b)


def test_peek_matches_conversion_on_pydicoms_files() -> None:
    """Every top-level element of every test file (all charsets): a peeked value is
    exactly what ``dataset[tag].value`` returns afterwards."""
    peeked = 0
    for path in sorted(get_testdata_files()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:
                continue
            for tag in list(ds.keys()):
                raw = ds.get_item(tag)
                if tag == 0x00080005 or not isinstance(raw, RawDataElement):
                    continue
                value = peek_value(ds, tag, raw)
                assert isinstance(ds.get_item(tag), RawDataElement)  # nothing stored
                try:
                    expected = ds[tag].value
                except Exception:
                    assert value is UNSURE
                    continue
                if value is UNSURE:
                    continue
                peeked += 1
                assert _values_equal(value, expected), (path, tag)
    assert peeked > 1000


def test_gather_leaves_rewritten_elements_raw_with_the_same_identifiers() -> None:
    recipe = shipped("basic")
    _, plain = roundtrip(base_dataset())
    _, peeking = roundtrip(base_dataset())
    slow = gather_identifiers(plain, recipe, element_vr)
    fast = gather_identifiers(peeking, recipe, element_vr, _top_level_rewritten(recipe))
    assert (slow.names, slow.values, slow.date_texts) == (
        fast.names,
        fast.values,
        fast.date_texts,
    )
    assert "PID4455667" in fast.values and "Doe" in fast.names
    # Accession Number (Z) is replaced by the walk: read, not converted
    assert isinstance(peeking.get_item(0x00080050), RawDataElement)
    assert not isinstance(plain.get_item(0x00080050), RawDataElement)


def test_elements_clean_may_keep_are_not_peeked() -> None:
    recipe = shipped("basic")
    rewritten = _top_level_rewritten(recipe)
    rule = recipe.rule_for(0x00080070, "LO")  # Manufacturer: C by the VR safety net
    assert rule is not None and rule.action == "C"
    assert not rewritten(0x00080070, "LO", rule)  # free text: Clean may keep it as is
    assert not rewritten(0x00080100, "SH", rule)  # a code: kept
    assert not rewritten(0x00080008, "CS", rule)  # CS under C: kept
    assert rewritten(0x00100010, "PN", rule)  # a name under C: replaced
