"""Marking a de-identified dataset as PS3.15 E.1.1 and E.3 ask.

Patient Identity Removed (0012,0062) = YES; De-identification Method (0012,0063) names
deid, its version, the recipe and the first 12 hex digits of its digest; the Method Code
Sequence (0012,0064) carries one CID 7050 item (scheme DCM) per profile and option;
Longitudinal Temporal Information Modified (0028,0303) is REMOVED, UNMODIFIED or MODIFIED
for the date policies remove, keep and shift. Burned In Annotation is left to the pixel
step, which alone knows whether pixels were cleaned.
"""

from __future__ import annotations

from pydicom import Dataset, config
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence

from deid import __version__
from deid.recipe.model import Recipe


def _set(ds: Dataset, tag: int, vr: str, value: object) -> None:
    ds[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)


def mark(ds: Dataset, recipe: Recipe) -> None:
    """The attributes PS3.15 E.1.1 asks a de-identifier to add."""
    _set(ds, 0x00120062, "CS", "YES")  # Patient Identity Removed
    name = "".join(ch for ch in recipe.name if ch not in "\\\r\n\t")[:24]
    method = f"deid {__version__}; recipe {name}; {recipe.digest[:12]}"
    _set(ds, 0x00120063, "LO", method[:64])  # De-identification Method
    items = []
    for code, meaning in _method_codes(recipe):
        item = Dataset()
        _set(item, 0x00080100, "SH", code)  # Code Value
        _set(item, 0x00080102, "SH", "DCM")  # Coding Scheme Designator
        _set(item, 0x00080104, "LO", meaning)  # Code Meaning
        items.append(item)
    ds[0x00120064] = DataElement(0x00120064, "SQ", Sequence(items))  # ... Method Code Sequence
    modified = {"remove": "REMOVED", "keep": "UNMODIFIED", "shift": "MODIFIED"}
    _set(ds, 0x00280303, "CS", modified[recipe.dates.mode])


_CODES: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}


def _method_codes(recipe: Recipe) -> list[tuple[str, str]]:
    """``recipe.method_codes()``, computed once per recipe (it reads the standard's table)."""
    key = (recipe.digest, recipe.options)
    codes = _CODES.get(key)
    if codes is None:
        codes = _CODES[key] = recipe.method_codes()
    return codes
