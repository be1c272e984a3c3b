"""Every row x every column of PS3.15 Table E.1-1, top level and inside a sequence.

For each row of ``profiles/source/confidentiality_profile.csv`` and each column with a code
(the Basic Profile, and every non-blank option cell), a dataset holding that attribute with
a plausible value is de-identified by the profile + that option (loaded through the recipe
loader), written as Part 10 and read back; the value read back must match the code.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta

import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rewrite_support import SECRET, base_dataset, profile_recipe, roundtrip
from rewrite_table_values import REFERENCED_UID, plausible_value

from deid.recipe.model import OPTION_COLUMNS
from deid.resources import standard_table
from deid.rewrite import iod
from deid.rewrite.engine import deidentify
from deid.rewrite.keyring import KeyRing
from deid.rewrite.vr import DUMMIES, concrete

#: Table column -> option name: the model's one table (deid.recipe.model.OPTION_COLUMNS),
#: read the other way round.
COLUMN_OPTIONS = {column: name for name, column in OPTION_COLUMNS.items() if column is not None}
#: Attributes the engine writes itself after the rules (PS3.15 E.1.1 marking).
MARKING = {0x00120062, 0x00120063, 0x00120064, 0x00280303}
#: VRs for the newest rows that pydicom 3.0's dictionary does not know yet (by name).
_NAME_VR = (("Sequence", "SQ"), ("DateTime", "DT"), ("Comment", "LT"), ("Reference", "UR"))
#: A standard sequence the table does not list (kept and recursed by the safety net).
CONTAINER = 0x00089215  # Derivation Code Sequence
NEUTRAL = "kept words"


def _rows() -> list[dict[str, str]]:
    with standard_table("confidentiality_profile.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _vr_for(tag: int, name: str) -> str:
    try:
        return concrete(dictionary_VR(tag))
    except KeyError:
        for suffix, vr in _NAME_VR:
            if name.endswith(suffix) or suffix in name:
                return vr
        return "LO"


def _cases() -> list:
    cases = []
    for row in _rows():
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", row["tag"])
        if not match:
            continue  # the pattern rows are tested in test_rewrite_repeating_private.py
        tag = int(match[1] + match[2], 16)
        if tag in MARKING or tag == CONTAINER or tag >> 16 in (0x0000, 0x0002):
            # command elements are always removed (test_command_group_is_always_removed);
            # the file meta row is tested in test_rewrite_writer.py
            continue
        columns = [("basic_profile", None)] + [
            (col, opt) for col, opt in COLUMN_OPTIONS.items() if row[col]
        ]
        for column, option in columns:
            code = row[column]
            cases.append(
                pytest.param(tag, row["attribute_name"], code, option, id=f"{row['tag']}-{column}")
            )
    return cases


def _offset(option: str | None, anchor: str) -> int:
    recipe = profile_recipe(*([option] if option else []))
    return KeyRing(SECRET).date_offset_days(anchor, recipe.dates.min_days, recipe.dates.max_days)


def _build(tag: int, vr: str, nested: bool) -> tuple[Dataset, object]:
    ds = base_dataset()
    value = plausible_value(vr)
    elem = DataElement(tag, vr, value)
    if nested:
        item = Dataset()
        item.CodeValue = "121327"
        item.CodingSchemeDesignator = "DCM"
        item.add(elem)
        ds.add(DataElement(CONTAINER, "SQ", Sequence([item])))
    else:
        ds.add(elem)
    return ds, value


def _holder(out: Dataset, nested: bool) -> Dataset:
    if not nested:
        return out
    seq = out.get(CONTAINER)
    assert seq is not None and len(seq.value) == 1, "the container sequence must survive"
    return seq.value[0]


def _shifted(text: str, days: int) -> str:
    day = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    return day.strftime("%Y%m%d") + text[8:]


def _check(code: str, vr: str, tag: int, before: object, holder: Dataset, option, keys) -> None:
    present = tag in holder
    after = holder[tag].value if present else None
    if code == "X":
        assert not present, "X must remove the attribute"
        return
    assert present, f"{code} must keep the attribute present"
    if code == "Z":
        assert after in (None, "", b"") or (vr == "SQ" and len(after) == 0), after
        return
    if code == "K":
        if vr == "SQ":
            assert len(after) == len(before)
        elif isinstance(before, bytes):
            assert after == before
        else:
            assert str(after) == str(before)
        return
    if code == "U":
        if vr == "SQ":  # X/Z/U*: references kept, their UIDs remapped
            ref = after[0].ReferencedSOPInstanceUID
            assert ref == keys.uid(REFERENCED_UID)  # (the items were rewritten in place)
        else:
            assert after == keys.uid(before)
        return
    if code == "D":
        if vr == "SQ":
            assert len(after) == len(before)
        elif vr == "UI":
            assert after == keys.uid(before)
        else:
            assert after not in (None, "", b""), "D needs a non-empty value"
            assert after != before
            if vr in DUMMIES:
                assert str(after) == str(DUMMIES[vr]) or after == DUMMIES[vr]
        return
    assert code == "C", code
    if vr in ("DA", "DT"):
        mode = profile_recipe(*([option] if option else [])).dates.mode
        if mode == "shift":
            assert after == _shifted(before, _offset(option, "PID4455667"))
        else:
            assert after == before
    elif vr == "TM":
        assert after == before
    elif vr in ("LO", "SH", "ST", "LT", "UT", "UC"):
        text = str(after)
        assert "Doe" not in text and "John" not in text and "1970" not in text, text
        assert NEUTRAL in text
    elif vr == "AE":
        assert after == "DEID"
    elif vr == "SQ":
        assert len(after) == len(before)
    elif vr == "PN":
        assert str(after) == ""
    elif vr == "AS":
        assert after == before
    elif vr == "UI":
        assert after == keys.uid(before)
    else:  # CS and numbers are kept (binary is removed: handled by the caller)
        assert str(after) == str(before)


@pytest.mark.parametrize("nested", [False, True], ids=["top", "nested"])
@pytest.mark.parametrize(("tag", "name", "code", "option"), _cases())
def test_table_row(tag: int, name: str, code: str, option: str | None, nested: bool, keys) -> None:
    recipe = profile_recipe(*([option] if option else []))
    vr = _vr_for(tag, name)
    ds, before = _build(tag, vr, nested)
    resolved = iod.resolve(code, tag, ds.SOPClassUID) if "/" in code else code
    deidentify(ds, recipe, keys)
    _, out = roundtrip(ds)
    if vr in ("OB", "OW", "UN") and resolved == "C":
        assert tag not in _holder(out, nested)  # binary cannot be cleaned: removed
        return
    _check(resolved, vr, tag, before, _holder(out, nested), option, keys)


def test_every_row_is_covered() -> None:
    """The table has 657 rows; all but the 4 pattern rows are single-tag cases above."""
    rows = _rows()
    assert len(rows) == 657
    single = [r for r in rows if re.fullmatch(r"\([0-9A-F]{4},[0-9A-F]{4}\)", r["tag"])]
    assert len(single) == 653


def test_command_group_is_always_removed(keys) -> None:
    """(0000,1000)/(0000,1001) rows: a stored dataset has no command set, whatever the code."""
    ds = base_dataset()
    ds.add(DataElement(0x00001000, "UI", "1.2.826.0.1.3680043.10.9999.5"))
    deidentify(ds, profile_recipe("retain-uids"), keys)
    assert 0x00001000 not in ds


def test_cases_read_back_as_dicom(keys) -> None:
    """Spot-check: a de-identified table dataset is still a readable Part 10 file."""
    ds = base_dataset()
    deidentify(ds, profile_recipe(), keys)
    data, out = roundtrip(ds)
    assert data[128:132] == b"DICM"
    assert isinstance(out, pydicom.Dataset)
