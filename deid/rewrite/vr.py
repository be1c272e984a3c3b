"""Value representations: how to learn an element's VR cheaply, and the dummy per VR.

The engine decides on most elements *without decoding them* (a kept element stays the raw
bytes pydicom read), so the VR must come from the raw element, or from the dictionary when
the file is Implicit VR. Ambiguous dictionary VRs ("US or SS", "OB or OW") are resolved to
their first choice: that is only used to pick a rule (the VR safety net treats both
alternatives alike) and to build a replacement element.

Dummy values (action D) are fixed, documented and valid for their VR, so dciodvfy accepts
them and a reader can tell a dummy from data:

======  ==================================================================
VR      dummy
======  ==================================================================
AE      ``DEID``
AS      ``000Y``
CS      ``ANONYMIZED``
DA      ``19000101``   (a date no study has; valid DA)
DT      ``19000101000000``
TM      ``000000``
LO SH   ``ANONYMIZED`` (also ST, LT, UT, UC)
PN      ``ANONYMIZED``
DS IS   ``0``
UR      ``http://example.invalid``
US SS UL SL UV SV FL FD AT   ``0``
OB OW OF OL OD OV UN   zero bytes (the VR's word size, minimum 2)
UI      a keyed UID of the original value (D on a UID = U, so references stay consistent)
SQ      the sequence is kept and every item cleaned by the rules
======  ==================================================================
"""

from __future__ import annotations

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement

from deid.dicom.vrs import (
    BINARY_VRS,
    DATE_VRS,
    NUMBER_VRS,
    STRING_VRS,
    TEXT_VRS,
    WORD_SIZE,
)

DUMMY_TEXT = "ANONYMIZED"
DUMMY_AE = "DEID"
DUMMIES: dict[str, object] = {
    "AE": DUMMY_AE,
    "AS": "000Y",
    "CS": DUMMY_TEXT,
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "LO": DUMMY_TEXT,
    "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT,
    "LT": DUMMY_TEXT,
    "UT": DUMMY_TEXT,
    "UC": DUMMY_TEXT,
    "PN": DUMMY_TEXT,
    "DS": "0",
    "IS": "0",
    "UR": "http://example.invalid",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
    "AT": 0,
}


def concrete(vr: str) -> str:
    """First alternative of an ambiguous dictionary VR ("US or SS" -> "US")."""
    return vr.split(" or ", 1)[0] if " or " in vr else vr


def element_vr(tag: int, elem: DataElement | RawDataElement) -> str:
    """The VR to decide by, without decoding the value."""
    vr = elem.VR
    if vr is None or vr == "UN":
        if not (tag >> 16) & 1:
            try:
                return concrete(dictionary_VR(tag))
            except KeyError:
                return vr or "UN"
        return vr or "UN"
    return concrete(vr)


def dummy_value(vr: str) -> object:
    """The fixed dummy for a VR (not for UI or SQ: the engine handles those)."""
    if vr in BINARY_VRS:
        return b"\x00" * max(2, WORD_SIZE.get(vr, 1))
    return DUMMIES.get(vr, DUMMY_TEXT)


def empty_value(vr: str) -> object:
    """The zero-length value for a VR as pydicom expects it."""
    if vr == "SQ":
        return []
    if vr in BINARY_VRS:
        return b""
    if vr in STRING_VRS:
        return ""
    return None


__all__ = [
    "BINARY_VRS",
    "DATE_VRS",
    "DUMMIES",
    "NUMBER_VRS",
    "STRING_VRS",
    "TEXT_VRS",
    "WORD_SIZE",
    "concrete",
    "dummy_value",
    "element_vr",
    "empty_value",
]
