"""Clean (C) for free text: remove this dataset's own identifying values, keep the rest.

A description such as "CT for John Doe, MRN 12345, 31/01/2024" mentions values the rules
remove elsewhere in the same dataset. :func:`gather_identifiers` collects them *before*
anything is rewritten; :class:`TextCleaner` then removes every occurrence from a text
value, in any letter case, plus the recipe's own ``text_patterns``.

What counts as a value to remove:

* names: every component of every Person Name group (alphabetic, ideographic, phonetic),
  and each whole group; Latin-script components two characters or longer (single initials
  would delete every "A" of a sentence), non-Latin ones whatever their length (a single
  CJK character is a whole family name);
* identifiers and other strings (IDs, accession number, institution, station ...): the whole
  value, three characters or longer;
* dates: every DA value (and the date part of every DT), in the spellings people type:
  20240131, 2024-01-31, 2024/01/31, 2024.01.31, 31/01/2024, 01/31/2024, 31.01.2024,
  31-01-2024, 31/1/2024, 1/31/2024, 31/01/24, 01/31/24, Jan 31 2024, Jan 31, 2024,
  31 Jan 2024, 31 January 2024, January 31, 2024 (month names in English).

Only values whose own rule does not keep them are gathered: with Retain Institution
Identity, the institution's name may stay in a description as it stays in its attribute.

Matching respects word edges: a Latin-script value is not removed from inside a longer word
("LI" inside "CLINICAL"), a value with digits is not removed from inside a longer number;
but a non-Latin value (CJK names have no spaces) is removed wherever it occurs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from deid.dicom.date_forms import date_patterns
from deid.dicom.person_names import name_parts
from deid.recipe.model import TextPattern
from deid.rewrite.dates import parse_da

_LATIN = re.compile(r"^[\x00-\u024f]*$")
_SPACES = re.compile(r"[ \t]{2,}")


def _literal(value: str) -> str | None:
    """A regex for one literal value with the word-edge rules of the module docstring."""
    value = " ".join(value.split())
    if not value:
        return None
    body = re.escape(value).replace(r"\ ", r"\s+")
    if not _LATIN.match(value):
        return body
    left = (
        r"(?<![0-9])"
        if value[0].isdigit()
        else r"(?<![A-Za-z\u00c0-\u024f])"
        if value[0].isalpha()
        else ""
    )
    right = (
        r"(?![0-9])"
        if value[-1].isdigit()
        else r"(?![A-Za-z\u00c0-\u024f])"
        if value[-1].isalpha()
        else ""
    )
    return left + body + right


class TextCleaner:
    """Removes a fixed set of identifying values and patterns from text values."""

    def __init__(
        self,
        names: Iterable[str] = (),
        values: Iterable[str] = (),
        dates: Iterable[date] = (),
        patterns: Iterable[TextPattern] = (),
    ) -> None:
        alternatives: set[str] = set()
        for name in names:
            name = name.strip()
            # Latin initials are skipped; a single CJK character is a whole family name.
            if len(name) >= 2 or (name and not _LATIN.match(name)):
                alt = _literal(name)
                if alt:
                    alternatives.add(alt)
        for value in values:
            value = value.strip()
            if len(value) >= 3:
                alt = _literal(value)
                if alt:
                    alternatives.add(alt)
        for day in dates:
            for spelling in date_patterns(day):
                alternatives.add(r"(?<![0-9])" + spelling + r"(?![0-9])")
        # Longest first, so "John Doe Jr" goes before "John"; compiled on first use only.
        self._alternatives = tuple(sorted(alternatives, key=lambda a: (-len(a), a)))
        self._regex: re.Pattern[str] | None = None
        self._patterns = tuple(patterns)

    def __bool__(self) -> bool:
        return bool(self._alternatives) or bool(self._patterns)

    def clean(self, text: str) -> str:
        """``text`` without the identifying values; whitespace runs left behind collapse."""
        if not text:
            return text
        out = text
        if self._alternatives:
            if self._regex is None:
                self._regex = _compile(self._alternatives)
            out = self._regex.sub("", out)
        for pattern in self._patterns:
            out = pattern.regex.sub(pattern.replacement, out)
        if out != text:
            out = _SPACES.sub(" ", out).strip()
        return out


@lru_cache(maxsize=512)
def _compile(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    """Files of one patient share their identifying values: compile their regex once."""
    return re.compile("|".join(alternatives), re.IGNORECASE)


def parse_dates(values: Iterable[str]) -> list[date]:
    """The calendar dates among DA values (and the date part of DT values)."""
    out = []
    for value in values:
        value = value.strip()
        day = parse_da(value[:8]) if len(value) >= 8 else None
        if day is not None:
            out.append(day)
    return out


#: Non-name attributes whose values identify the patient, the visit or the site.
IDENTIFIER_KEYWORDS = (
    "PatientID",
    "OtherPatientIDs",
    "IssuerOfPatientID",
    "AccessionNumber",
    "StudyID",
    "AdmissionID",
    "ServiceEpisodeID",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "PerformedProcedureStepID",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
    "MedicalRecordLocator",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "ClinicalTrialSiteName",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "RegionOfResidence",
    "MilitaryRank",
    "BranchOfService",
)
_IDENTIFIER_TAGS: frozenset[int] | None = None


def identifier_tags() -> frozenset[int]:
    """Every standard tag whose value is gathered: the identifiers above, every PN, DA
    and DT of the dictionary, and Other Patient IDs Sequence (its items hold more IDs).

    A set of ints, so the gathering pass skips every other element without looking at it.
    """
    global _IDENTIFIER_TAGS
    if _IDENTIFIER_TAGS is None:
        from pydicom.datadict import DicomDictionary, tag_for_keyword

        tags = {t for t in (tag_for_keyword(k) for k in IDENTIFIER_KEYWORDS) if t is not None}
        tags.update(t for t, entry in DicomDictionary.items() if entry[0] in ("PN", "DA", "DT"))
        tags.add(0x00101002)
        _IDENTIFIER_TAGS = frozenset(tags)
    return _IDENTIFIER_TAGS


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _name_parts(value: Any) -> list[str]:
    """Every component of every group of a PN value (or a list of them)."""
    parts: list[str] = []
    for name in (
        value
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"
        else [value]
    ):
        if name is not None:
            parts.extend(name_parts(str(name)))
    return parts


class Identifiers:
    """The identifying values of one dataset, gathered before anything is rewritten.

    The top level is gathered up front (:func:`gather_identifiers`); the engine adds the
    Person Name values it meets in nested items (SR content, physician sequences ...) as
    it walks, and asks for the :meth:`cleaner` only when the walk is over.
    """

    def __init__(self, patterns: tuple[TextPattern, ...] = ()) -> None:
        self.names: set[str] = set()
        self.values: set[str] = set()
        self.date_texts: set[str] = set()
        self.patterns = patterns

    def add_name(self, value: object) -> None:
        self.names.update(_name_parts(value))

    def cleaner(self) -> TextCleaner:
        return _cleaner(
            tuple(sorted(self.names)),
            tuple(sorted(self.values)),
            tuple(sorted(set(parse_dates(self.date_texts)))),
            self.patterns,
        )


#: :func:`peek_value`'s answer when it cannot promise pydicom's value.
UNSURE = object()


def _default_conversion() -> bool:
    """True when pydicom converts raw elements with its stock hooks (no user callback)."""
    from pydicom import config
    from pydicom.hooks import hooks, raw_element_value, raw_element_vr

    return (
        not config.data_element_callback
        and not hooks.raw_element_kwargs
        and hooks.raw_element_vr is raw_element_vr
        and hooks.raw_element_value is raw_element_value
    )


def peek_value(dataset: Any, tag: int, raw: Any) -> Any:
    """The value ``dataset[tag].value`` would return, without storing the conversion, or
    :data:`UNSURE` when that cannot be promised (the caller then converts as usual).

    Why: an element that the engine replaces or removes anyway need not be converted (and
    kept converted) only to read its identifying value; converting costs ~10 us each.
    This is pydicom's own value conversion (``convert_value``, the one its stock
    ``raw_element_value`` hook calls, with the character set ``Dataset.__getitem__``
    passes) for the plain case: an explicit, concrete, non-sequence VR and bytes in hand.
    """
    from pydicom.values import convert_value, converters

    vr = getattr(raw, "VR", None)
    if (
        not getattr(raw, "is_raw", False)
        or type(raw.value) is not bytes
        or type(vr) is not str
        or len(vr) != 2
        or vr in ("UN", "SQ")
        or vr not in converters
        or not _default_conversion()
    ):
        return UNSURE
    try:
        encoding = dataset.original_character_set or dataset._character_set
        return convert_value(vr, raw, encoding)
    except Exception:
        return UNSURE


def gather_identifiers(dataset, recipe, element_vr, rewritten=None) -> Identifiers:
    """Collect this dataset's identifying top-level values (see the module docstring).

    ``element_vr(tag, raw)`` is the engine's cheap VR lookup, passed in to avoid a cycle.
    ``rewritten(tag, vr, rule)``, when given, says an element is certainly replaced or
    removed by the engine: its value is then read without converting the element
    (:func:`peek_value`), so whether it stays raw cannot change the output.
    """
    from pydicom.sequence import Sequence

    found = Identifiers(tuple(recipe.text_patterns))
    id_tags = identifier_tags()
    for tag in [t for t in list(dataset.keys()) if t in id_tags]:
        raw = dataset.get_item(tag)
        if raw is None:
            continue
        vr = element_vr(tag, raw)
        rule = recipe.rule_for(int(tag), vr)
        if rule is None or rule.action == "K":
            continue
        value = UNSURE
        if rewritten is not None and tag != 0x00080005 and rewritten(int(tag), vr, rule):
            value = peek_value(dataset, tag, raw)
        if value is UNSURE:
            try:
                value = dataset[tag].value
            except Exception:  # undecodable: nothing to learn from it
                continue
        if isinstance(value, Sequence):
            for item in value:
                for kw in ("PatientID", "IssuerOfPatientID"):
                    found.values.update(_strings(item.get(kw)))
            continue
        if vr == "PN":
            found.add_name(value)
        elif vr in ("DA", "DT"):
            found.date_texts.update(_strings(value))
        else:
            found.values.update(_strings(value))
    return found


@lru_cache(maxsize=256)
def _cleaner(
    names: tuple[str, ...],
    values: tuple[str, ...],
    dates: tuple[date, ...],
    patterns: tuple[TextPattern, ...],
) -> TextCleaner:
    """Files of one series share their identifying values: build their cleaner once."""
    return TextCleaner(names, values, dates, patterns)
