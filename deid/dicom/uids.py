"""Well-known UIDs: SOP Classes, Transfer Syntaxes, coding schemes ... (PS3.6 Annex A).

They name DICOM things, not patients, studies or devices, so the engine never remaps them
and verify never searches for them.
"""

from __future__ import annotations

from pydicom.uid import UID_dictionary

#: The root of every UID the standard itself defines.
WELL_KNOWN_ROOT = "1.2.840.10008."
#: Deflated Explicit VR Little Endian: the data set after the file meta is zlib-deflated.
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"


def is_well_known_uid(uid: str) -> bool:
    """True for a UID under the standard's root or in pydicom's UID dictionary."""
    return uid.startswith(WELL_KNOWN_ROOT) or uid in UID_dictionary
