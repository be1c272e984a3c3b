"""Plausible values per VR for the table-driven tests (helper module, not a test file)."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

REFERENCED_UID = "1.2.826.0.1.3680043.10.9999.88"
TEXT = "Doe John 31/01/1970 kept words"

_VALUES: dict[str, object] = {
    "AE": "STATION_AE",
    "AS": "045Y",
    "AT": 0x00100010,
    "CS": "VALUE1",
    "DA": "20240131",
    "DS": "12.5",
    "DT": "20240131101530.000000+0100",
    "FD": 1.5,
    "FL": 1.5,
    "IS": "7",
    "LO": TEXT,
    "LT": TEXT,
    "PN": "Roe^Richard",
    "SH": "Doe kept words",
    "SL": 7,
    "SS": 7,
    "ST": TEXT,
    "SV": 7,
    "TM": "101530",
    "UC": TEXT,
    "UI": "1.2.826.0.1.3680043.10.9999.77",
    "UL": 7,
    "UR": "http://hospital.example/p/1",
    "US": 7,
    "UT": TEXT,
    "UV": 7,
}


def plausible_value(vr: str) -> object:
    if vr == "SQ":
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = REFERENCED_UID
        return Sequence([item])
    if vr in ("OB", "OW", "OF", "OL", "OD", "OV", "UN"):
        return b"\x01\x02\x03\x04\x05\x06\x07\x08"
    return _VALUES[vr]
