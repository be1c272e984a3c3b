"""Resolving the compound action codes (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) to one action.

The standard leaves the choice to "what the IOD requires": Type 1 (present, non-empty)
needs D, Type 2 (present, may be empty) needs Z, Type 3 (optional) allows X. deid carries a
small table of the attributes with compound codes whose Type is 1 or 2 in common IODs
(from PS3.3; by SOP Class UID prefix). Everything not in the table is treated as Type 3,
because that is what these attributes are in the General Image / Series / Equipment
modules of the common IODs, and removing is the conservative choice for privacy:

=======  ===========================================================
code     resolved to
=======  ===========================================================
Z/D      D when Type 1 for this SOP Class, else Z
X/Z      Z when Type 1 or 2, else X
X/D      D when Type 1 or 2, else X
X/Z/D    D when Type 1, Z when Type 2, else X
X        Z (or D) only where the table above says the IOD needs it, else X
X/Z/U*   U: the sequence is kept and every UID inside remapped by its own rule
         (references keep resolving; the items hold references, not identity)
=======  ===========================================================

Patient's Sex Neutered is Type 2C "required if the patient is an animal": Z when the
dataset names a species (Patient Species Description or Code Sequence), else X.
"""

from __future__ import annotations

_IMG = "1.2.840.10008.5.1.4.1.1."
#: SOP Classes whose IODs use the Enhanced General Equipment and Multi-frame Functional
#: Groups modules (Content Date/Time, Acquisition DateTime, Device Serial Number Type 1).
ENHANCED = tuple(
    _IMG + s
    for s in (
        "2.1",  # Enhanced CT
        "2.2",  # Legacy Converted Enhanced CT
        "4.1",  # Enhanced MR
        "4.2",  # MR Spectroscopy
        "4.3",  # Enhanced MR Color
        "4.4",  # Legacy Converted Enhanced MR
        "6.2",  # Enhanced US Volume
        "12.1.1",  # Enhanced XA
        "12.2.1",  # Enhanced XRF
        "13.1.",  # Breast Tomosynthesis and other 3D X-ray
        "128.1",  # Legacy Converted Enhanced PET
        "130",  # Enhanced PET
        "66.4",  # Segmentation
        "30",  # Parametric Map
    )
)
SR = (_IMG + "88.",)
WAVEFORM = (_IMG + "9.",)  # Waveform Identification module: Content Date/Time, Acq. DateTime 1
RT = (_IMG + "481.",)  # every RT IOD uses the RT Series module
RT_PLAN = (_IMG + "481.5", _IMG + "481.8")
RT_BRACHY_RECORD = (_IMG + "481.6",)
ACQUISITION_CONTEXT = (*ENHANCED, _IMG + "9.", _IMG + "77.")  # waveforms, VL images

#: tag -> ((SOP Class UID prefixes, Type), ...); first match wins; default Type 3.
TYPES: dict[int, tuple[tuple[tuple[str, ...], int], ...]] = {
    0x00080023: ((SR, 1), (ENHANCED, 1), (WAVEFORM, 1), (("",), 2)),  # Content Date
    0x00080033: ((SR, 1), (ENHANCED, 1), (WAVEFORM, 1), (("",), 2)),  # Content Time
    0x0008002A: ((ENHANCED, 1), (WAVEFORM, 1)),  # Acquisition DateTime
    0x00181000: ((ENHANCED, 1),),  # Device Serial Number
    0x00100020: ((("",), 2),),  # Patient ID
    0x00180010: ((("",), 2),),  # Contrast/Bolus Agent
    0x00700084: ((("",), 2),),  # Content Creator's Name
    0x00189919: ((("",), 2),),  # Instruction Performed DateTime
    0x300A00B2: ((RT_PLAN, 2),),  # Treatment Machine Name
    0x30080105: ((RT_BRACHY_RECORD, 2),),  # Source Serial Number
    0x00400555: ((ACQUISITION_CONTEXT, 2),),  # Acquisition Context Sequence
    0x00081070: ((RT, 2),),  # Operators' Name (RT Series module)
    0x00081111: ((SR, 2),),  # Referenced Performed Procedure Step Sequence (SR Document Series)
    0x300A0006: ((RT_PLAN, 2),),  # RT Plan Date
    0x300A0007: ((RT_PLAN, 2),),  # RT Plan Time
}
#: Types that hold inside sequence items only (at top level the attribute is Type 3 there):
#: SR Document General's Referenced Request Sequence items.
NESTED_TYPES: dict[int, tuple[tuple[tuple[str, ...], int], ...]] = {
    0x00081110: ((SR, 2),),  # Referenced Study Sequence
    0x00321060: ((SR, 2),),  # Requested Procedure Description
    0x00401001: ((SR, 2),),  # Requested Procedure ID (plain X in the table)
}
SEX_NEUTERED = 0x00102203


def attribute_type(
    tag: int, sop_class_uid: str, is_animal: bool = False, nested: bool = False
) -> int:
    """1, 2 or 3: how much this IOD needs the attribute (3 when not known)."""
    if tag == SEX_NEUTERED:
        return 2 if is_animal else 3
    table = NESTED_TYPES if nested and tag in NESTED_TYPES else TYPES
    for prefixes, kind in table.get(tag, ()):
        if any(sop_class_uid.startswith(p) for p in prefixes):
            return kind
    return 3


def resolve(
    code: str, tag: int, sop_class_uid: str, is_animal: bool = False, nested: bool = False
) -> str:
    """The single action (X, Z, D or U) a compound code stands for here."""
    if code == "X/Z/U*":
        return "U"
    kind = attribute_type(tag, sop_class_uid, is_animal, nested)
    if code == "Z/D":
        return "D" if kind == 1 else "Z"
    if code == "X/Z":
        return "Z" if kind <= 2 else "X"
    if code == "X/D":
        return "D" if kind <= 2 else "X"
    if code in ("X/Z/D", "X"):
        # A plain X on an attribute the IOD needs: the standard's table and PS3.3 disagree
        # (e.g. Requested Procedure ID in SR); an empty or dummy value keeps the object valid
        # and carries no more identity than removal.
        return "D" if kind == 1 else "Z" if kind == 2 else "X"
    return code
