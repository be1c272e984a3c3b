"""Value representations grouped by what their values are (PS3.5 6.2).

The engine cleans :data:`TEXT_VRS` as free text, never decodes :data:`BINARY_VRS`, keeps
:data:`NUMBER_VRS` as measurements; verify skips binary numbers, whose text never appears
in a file. One table, so a VR added to one side is added to both.
"""

from __future__ import annotations

#: Character strings that hold free text (what Clean cleans of names, IDs and dates).
TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC"})
#: Dates and times.
DATE_VRS = frozenset({"DA", "DT", "TM"})
#: Every character-string VR.
STRING_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
     "UR", "UT"}
)  # fmt: skip
#: Byte streams ("other" VRs and unknown).
BINARY_VRS = frozenset({"OB", "OW", "OF", "OL", "OD", "OV", "UN"})
#: Bytes per word for the binary VRs, for byte swapping and for dummy lengths.
WORD_SIZE = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
#: Binary numbers (and attribute tags).
NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT"})
#: Values stored as binary numbers, never as text: numbers, and the "other" VRs that are
#: arrays of words (not OB/UN, which may hold text).
BINARY_NUMBER_VRS = NUMBER_VRS | (BINARY_VRS - {"OB", "UN"})
