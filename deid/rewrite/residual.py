"""The patient's own ID and name inside values the recipe *keeps*: a last guard.

A recipe keeps an attribute for what it should hold (a station name, a photometric
interpretation, a vendor's sequence name), not for a patient ID a technologist typed into
it. When the recipe removes or replaces Patient ID (or Patient's Name), finding that value
inside a kept one means the output would still carry it, so the engine treats the kept
value as Clean text (free text), empties it (a person name), removes it (undecoded bytes)
or quarantines the file (anything else: a coded or numeric value cannot be cleaned and
removing a Type 1 code would leave an invalid object).

Only whole values are looked for, as whole tokens (no letter or digit on either side):
the Patient ID (4 characters or more) and the Patient's Name as a whole, in each component
group, spaced and unspaced (6 characters or more). Single name components are not: "Name"
of "Last Name^First Name" is in many a code meaning, and Clean text handles components.
Which kept values are guarded: those no rule names (no rule, or the VR safety net's K),
the codes Clean keeps (CS, and Code Value ...: the engine's ``CODED_TAGS``) and Retain
Safe Private's table keys. A K written for the attribute itself (a profile or option row,
a recipe's own rule) keeps it verbatim, as asked; ``deid verify`` still reports the
patient's ID or name found there.
Encapsulated (compressed) Pixel Data is searched too, for needles of 6 bytes or more: a
JPEG comment (COM) or application segment (APPn, e.g. Exif) can carry the patient's name
and no text cleaning reaches inside it, so such a file is quarantined.
The check reads the kept value's raw bytes when pydicom has not decoded it, so a kept
element still costs no decoding.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydicom import Dataset
from pydicom.multival import MultiValue

from deid.dicom import person_names as person_name

PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020
MIN_ID = 4
MIN_NAME = 6
#: Needles searched in encapsulated pixel data must be at least this long (bytes).
MIN_BULK = 6


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip(" \x00")


def _name_forms(name: str) -> set[str]:
    forms: set[str] = set()
    for group in person_name.groups(name):
        group = group.strip(" ^")
        if not person_name.is_multi_component(group):
            continue  # a single component: Clean text's business, not this guard's
        forms.update(person_name.group_forms(group))
    return {f for f in forms if len(f) >= MIN_NAME}


def _bytes_pattern(needles: set[bytes]) -> re.Pattern[bytes]:
    alternatives = b"|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    return re.compile(rb"(?<![A-Za-z0-9])(?:" + alternatives + rb")(?![A-Za-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=256)
def _patterns(
    needles: tuple[str, ...],
) -> tuple[re.Pattern[str], re.Pattern[bytes], re.Pattern[bytes] | None]:
    """The text, bytes and bulk patterns for some needles (longest first). Cached: the
    files of one patient share their needles, and building the patterns cost more than
    the search."""
    alternatives = "|".join(re.escape(n) for n in needles)
    text = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
    encoded: set[bytes] = set()
    for needle in needles:
        for codec in ("utf-8", "latin-1"):
            try:
                encoded.add(needle.encode(codec))
            except UnicodeEncodeError:
                continue
    long_enough = {n for n in encoded if len(n) >= MIN_BULK}
    return text, _bytes_pattern(encoded), _bytes_pattern(long_enough) if long_enough else None


class ResidualGuard:
    """Finds the dataset's removed Patient ID / Patient's Name inside kept values."""

    def __init__(self, dataset: Dataset, recipe: Any, element_vr: Any) -> None:
        needles: set[str] = set()
        for tag, minimum in ((PATIENT_ID, MIN_ID), (PATIENT_NAME, MIN_NAME)):
            raw = dataset.get_item(tag)
            if raw is None:
                continue
            rule = recipe.rule_for(tag, element_vr(tag, raw))
            if rule is None or rule.action == "K":
                continue  # the recipe keeps it: finding it elsewhere is no leak
            try:
                value = _text(dataset[tag].value)
            except Exception:
                continue
            if tag == PATIENT_ID:
                if len(value) >= minimum:
                    needles.add(value)
            else:
                needles.update(_name_forms(value))
        self.needles = tuple(sorted(needles, key=len, reverse=True))
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self._bulk: re.Pattern[bytes] | None = None
        if self.needles:
            self._text, self._bytes, self._bulk = _patterns(self.needles)

    def in_bulk(self, data: bytes) -> bool:
        """True when ``data`` (encapsulated pixel data: JPEG comment and application
        segments carry text) holds a needle of :data:`MIN_BULK` bytes or more; shorter
        ones would match compressed noise."""
        if self._bulk is None:
            return False
        return self._bulk.search(data) is not None

    def __bool__(self) -> bool:
        return bool(self.needles)

    def holds_identity(self, ds: Dataset, tag: int) -> bool:
        """True when the kept element ``tag`` of ``ds`` holds one of the needles."""
        if not self.needles:
            return False
        raw = ds.get_item(tag, keep_deferred=True)
        value = getattr(raw, "value", None)
        if value is None:
            return False
        if isinstance(value, (bytes, bytearray)):
            return self._bytes.search(bytes(value)) is not None  # type: ignore[union-attr]
        if isinstance(value, str):
            return self._text.search(value) is not None  # type: ignore[union-attr]
        if isinstance(value, (list, tuple, MultiValue)):  # not PersonName: it iterates chars
            try:
                joined = "\\".join(_text(v) for v in value)
            except Exception:
                return False
            return self._text.search(joined) is not None  # type: ignore[union-attr]
        return self._text.search(_text(value)) is not None  # type: ignore[union-attr]
