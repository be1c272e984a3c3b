"""Which values of an input the recipe did not keep: the needles verify searches outputs for.

Walking the *original* dataset with the *effective recipe* tells us, element by element,
whether the value may survive: kept (rule None or K, or a C that keeps the value's meaning:
cleaned text, capped ages, times under a whole-day shift, dates under "keep") or gone (every
removing or replacing code, U, pseudonyms, C on names/AE titles/UIDs, C on dates under a
shift). Everything inside a sequence the recipe removes is gone too. Private attributes are
decided by :meth:`Recipe.rule_for_private` through their block's creator; an element without
a creator is gone (the engine removes it). Private creator strings are vendor names, not
identity, and are neither needles nor kept values.

The filter rule (documented here because it decides what verify can miss):

1. A value is split into its values (backslash) and stripped of spaces and NULs. Person
   names also yield each component (family, given, ... split on ``^``, ``=``, space, comma)
   and each component group (alphabetic, ideographic, phonetic) spaced and unspaced;
   dates (DA and the date part of DT) yield their common spellings: 20240131, 2024-01-31,
   2024/01/31, 2024.01.31, 31/01/2024, 01/31/2024, 31.01.2024, 31-01-2024, Jan 31 2024,
   31 Jan 2024, January 31, 2024; and the output's free text (LO SH ST LT UT UC) is
   searched for every spelling the engine removes from it (31/1/24, 1.31.2024, 31st
   January, 2024 ...: :func:`deid.dicom.date_forms.date_patterns`, the engine's own list).
2. Too short or generic to identify anyone, so skipped: fewer than 4 characters (2 in CJK
   scripts, where two characters make a surname); no letter or digit at all; numbers with
   fewer than 6 significant digits (2.000000 has one); binary numbers (US, UL, FL, FD,
   ...), whose text never appears in a file; times of day (TM: a time without its date
   identifies no one, and dates are checked);
   code strings (CS: enumerated codes such as TEXT or BARCODE, never a person's identity);
   words such as YES, NONE, UNKNOWN, ANONYMOUS, MALE; placeholder dates (19000101,
   19700101, ...); well-known UIDs (pydicom's UID dictionary or the 1.2.840.10008. root);
   values the recipe or engine write themselves (``replace`` values, the engine's dummies,
   and text contained in the de-identification marking: deid, its version, the recipe's
   name and digest, the method codes and their meanings).
3. Kept elsewhere, so not a leak: a value equal to or contained in (case-insensitively) a
   value the recipe keeps verbatim (K, or no rule) anywhere in the same dataset, except the
   patient's own names and IDs (kinds patient-name, patient-id), which are searched
   whatever kept value holds them. A value
   the recipe *cleans* (C) may survive unchanged, so values equal to or contained in it are
   skipped too, except identity (names, IDs, dates, addresses, institutions, UIDs, device
   names): cleaning must take those out of the text, so they are still searched.
4. Undecoded bytes (UN, OB) count only when they are printable text.

5. A short value made of a common word (one word of Zipf frequency 3.5 or more in a
   language of :mod:`deid.text.vocabulary`: "Here", "Central") is looked for
   as the whole value of attributes of its own kind (an institution "Here" in another
   Institution Name), not as a substring everywhere ("Manufacturer name here" is no leak);
   a person's name made of common words ("Rose", "Will") as a whole word.

Text is compared after Unicode NFKC folding and casefolding, so a name typed in full-width
Latin (ISO 2022 IR 87) is the same name.

Numbers and UIDs (digits and dots only) match as whole tokens in outputs (no digit or dot on
either side), so an old ID never "matches" inside a new ``2.25.`` UID; other needles match as
case-insensitive substrings, so a name inside free text is found.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from deid.dicom import person_names as person_name
from deid.dicom.date_forms import date_of
from deid.dicom.date_forms import date_spellings as common_date_spellings
from deid.dicom.privates import block_creator, is_private_creator, is_safe_private_keep
from deid.dicom.uids import is_well_known_uid
from deid.dicom.vrs import BINARY_NUMBER_VRS
from deid.recipe.model import PrivateKey, Recipe, Rule
from deid.rewrite.vr import DUMMIES
from deid.text import vocabulary
from deid.verification.walk import SKIP, value_bytes, value_strings, walk

MIN_LENGTH = 4
MIN_IDEOGRAPHIC_LENGTH = 2
MIN_NUMBER_DIGITS = 6

#: Codes after which the original value is gone from the output.
REMOVING_ACTIONS = frozenset(
    {"D", "Z", "X", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*", "replace", "pseudonym"}
)
#: For sequences only these codes drop the items; every other code (K, C, D, U and the
#: compounds the engine may resolve to D or U*) keeps the items and applies the rules
#: inside them, so the items' values are judged by their own rules.
REMOVING_SEQUENCE_ACTIONS = frozenset({"X", "Z", "X/Z"})

TEXT_LIKE_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "CS", "UR", "IS", "DS"})

GENERIC_WORDS = frozenset(
    w.casefold()
    for w in (
        "YES",
        "NONE",
        "NULL",
        "UNKNOWN",
        "ANONYMOUS",
        "ANONYMIZED",
        "ANONYMISED",
        "ANON",
        "REMOVED",
        "REDACTED",
        "MODIFIED",
        "UNMODIFIED",
        "DUMMY",
        "TEST",
        "MALE",
        "FEMALE",
        "OTHER",
        "ORIGINAL",
        "PRIMARY",
        "SECONDARY",
        "DERIVED",
        "NOT APPLICABLE",
        "EMPTY",
        "DEFAULT",
        "TRUE",
        "FALSE",
        "HEAD",
        "BODY",
        "AXIAL",
        "IMAGE",
        "SERIES",
        "STUDY",
        "PATIENT",
        "NORMAL",
        "LEFT",
        "RIGHT",
    )
)
PLACEHOLDER_DATES = frozenset(
    {"00000000", "00010101", "18000101", "19000101", "19700101", "20000101", "99991231"}
)

PATIENT_NAME_KEYWORDS = frozenset(
    {"PatientName", "PatientBirthName", "PatientMotherBirthName", "OtherPatientNames"}
)
PATIENT_ID_KEYWORDS = frozenset(
    {"PatientID", "OtherPatientIDs", "IssuerOfPatientID", "MedicalRecordLocator"}
)

#: Kinds a Clean (C) action must remove from free text, so a cleaned value holding one is
#: still a leak (see rule 3 of the module docstring).
IDENTITY_KINDS = frozenset(
    {"patient-name", "patient-id", "person-name", "accession", "date", "address", "phone",
     "institution", "uid", "id", "device"}
)  # fmt: skip

#: The patient's own name and IDs are searched even when a kept value holds them: the
#: recipe keeps an attribute for what it should mean (a device name, a sequence name), not
#: for a patient ID typed into it, so finding one there is a leak (see rule 3).
PATIENT_KINDS = frozenset({"patient-name", "patient-id"})

#: When one value is found under several kinds, the earliest kind in this list names it.
KIND_PRIORITY = (
    "patient-name", "patient-id", "person-name", "accession", "date", "address", "phone",
    "institution", "uid", "id", "device", "free-text", "private", "number", "text",
)  # fmt: skip

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DIGITS = re.compile(r"^\d+$")
_DIGITS_DOTS = re.compile(r"^[\d.]+$")
_NAME_SPLIT = person_name.WORD_SPLIT


@dataclass(frozen=True)
class Needle:
    """One value to search for, with how it may match."""

    kind: str
    text: str
    folded: str
    #: "" plain substring; "digits" no digit on either side; "digits-dots" no digit or dot;
    #: "word" no letter or digit on either side; "whole" the whole value of an attribute
    #: of the needle's own kind (a short value made of common words, see rule 5).
    boundary: str


@dataclass
class IdentifyingSet:
    """Everything :func:`deid.verification.scan.scan_output` needs from the original."""

    needles: list[Needle] = field(default_factory=list)
    encodings: list[str] = field(default_factory=lambda: ["iso8859"])
    #: Casefolded text the engine itself writes for this recipe (the de-identification
    #: marking): a needle contained in it is generated, not leaked.
    generated: str = ""
    #: The effective recipe, for the gate's own look at the output's free text
    #: (:mod:`deid.verification.textscan`); None skips that look.
    recipe: Recipe | None = None
    #: The calendar dates among the date needles: searched in the output's free text in
    #: every spelling the engine removes (:func:`deid.dicom.date_forms.date_patterns`).
    dates: tuple[date, ...] = ()

    def pairs(self) -> list[tuple[str, str]]:
        return [(n.kind, n.text) for n in self.needles]


def date_spellings(value: str) -> list[str]:
    """A DICOM date (YYYYMMDD...) in the spellings people type into free text."""
    day = date_of(value)
    return [] if day is None else common_date_spellings(day)


def kind_for(tag: int, vr: str, private: bool) -> str:
    """Name the kind of value an attribute holds (reports say the kind, never the value)."""
    if private:
        return "private"
    keyword = keyword_for_tag(tag) or ""
    if keyword in PATIENT_NAME_KEYWORDS:
        return "patient-name"
    if keyword in PATIENT_ID_KEYWORDS:
        return "patient-id"
    if vr == "PN":
        return "person-name"
    if "Accession" in keyword:
        return "accession"
    if vr in ("DA", "DT"):
        return "date"
    if vr == "UI":
        return "uid"
    if "Address" in keyword:
        return "address"
    if "Telephone" in keyword or "Phone" in keyword:
        return "phone"
    if "Institution" in keyword or "Department" in keyword:
        return "institution"
    if vr == "AE" or "Station" in keyword or "Device" in keyword or "Serial" in keyword:
        return "device"
    if vr in ("LT", "ST", "UT") or "Comment" in keyword or "Description" in keyword:
        return "free-text"
    if keyword.endswith("ID") or "Identifier" in keyword or "Number" in keyword:
        return "id"
    if vr in ("IS", "DS"):
        return "number"
    return "text"


def _creator_of(level: Dataset, tag: int, cache: dict) -> str | None:
    """The Private Creator string of a private element's block, None if there is none
    (read as the engine reads it: :func:`deid.dicom.privates.block_creator`)."""
    key = (id(level), tag >> 16, (tag & 0xFFFF) >> 8)
    if key not in cache:
        cache[key] = block_creator(level, tag)
    return cache[key]


def _fate(rule: Rule | None, vr: str, recipe: Recipe) -> str:
    """ "kept" (verbatim), "cleaned" (may survive as is), "gone" or "recurse" (sequences)."""
    if vr == "SQ":
        if rule is not None and rule.action in REMOVING_SEQUENCE_ACTIONS:
            return "gone"
        return "recurse"
    if rule is None or rule.action == "K":
        return "kept"
    if vr == "UI" and recipe.uids.mode == "keep" and rule.action not in ("X", "Z", "replace"):
        return "kept"  # Retain UIDs: the engine remaps no UID, whatever layer asks
    action = rule.action
    if action == "C":
        if vr in ("PN", "AE", "UI"):
            return "gone"
        if vr in ("DA", "DT"):
            return "kept" if recipe.dates.mode == "keep" else "gone"
        return "cleaned"  # text cleaned of identifiers, ages capped, times unshifted
    return "gone" if action in REMOVING_ACTIONS else "cleaned"


def _texts(element: Any) -> list[str]:
    """All text values of an element, including printable undecoded bytes."""
    texts = value_strings(element)
    raw = value_bytes(element)
    if raw is not None and len(raw) <= 4096:
        decoded = raw.decode("latin-1").strip(" \x00")
        if decoded and decoded.isprintable():
            texts.extend(decoded.split("\\"))
    return [t.strip(" \x00") for t in texts if t and t.strip(" \x00")]


def _expand(kind: str, vr: str, text: str) -> list[str]:
    if vr == "PN" or kind in ("patient-name", "person-name"):
        forms = [text, *(_NAME_SPLIT.split(text))]
        for group in person_name.groups(text):  # alphabetic, ideographic, phonetic
            forms += sorted(person_name.group_forms(group))
        return forms
    if vr in ("DA", "DT") or kind == "date":
        return [text, *date_spellings(text)]
    return [text]


def _whole_forms(text: str) -> set[str]:
    """A patient name or ID as a whole (each component group, spaced and unspaced): the
    forms searched even inside kept values. Single components are not: "Name" of
    "Last Name^First Name" is in many a code meaning."""
    forms = set()
    for group in person_name.groups(text):
        forms.update(person_name.group_forms(group))
    return {fold(f.strip(" \x00")) for f in forms if _NAME_SPLIT.search(f.strip())}


def _min_length(text: str) -> int:
    """4 characters, or 2 for ideographic and syllabic scripts (山田 is a whole surname)."""
    return MIN_IDEOGRAPHIC_LENGTH if any(ord(c) >= 0x2E80 for c in text) else MIN_LENGTH


def _acceptable(vr: str, text: str) -> bool:
    folded = text.casefold()
    if len(text) < _min_length(text) or not any(c.isalnum() for c in text):
        return False
    if folded in GENERIC_WORDS or text in PLACEHOLDER_DATES:
        return False
    if _NUMBER.match(text) and _significant_digits(text) < MIN_NUMBER_DIGITS:
        return False
    return not (vr == "UI" or _DIGITS_DOTS.match(text)) or not is_well_known_uid(text)


def _significant_digits(number: str) -> int:
    """Digits that carry information: 2.000000 has one, 0.085000 two, 1234567 seven."""
    mantissa = re.split(r"[eE]", number.lstrip("+-"))[0]
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return len(mantissa.replace(".", "").lstrip("0"))


def fold(text: str) -> str:
    """The form needles and haystacks are compared in: NFKC, then casefolded."""
    return unicodedata.normalize("NFKC", text).casefold()


_COMMON_WORD = re.compile(r"[^\W\d_]+")


def _common_words(text: str) -> bool:
    """One word, common in some language (rule 5)."""
    return _COMMON_WORD.fullmatch(text) is not None and vocabulary.is_common(text.casefold())


def _boundary(text: str, kind: str = "") -> str:
    if _common_words(text):
        return "word" if kind in ("patient-name", "person-name") else "whole"
    if _DIGITS.match(text):
        return "digits"
    if _DIGITS_DOTS.match(text):
        return "digits-dots"
    return ""


def _engine_dummies() -> set[str]:
    """The engine's fixed dummy values (action D): an original equal to one is no leak."""
    return {v.casefold() for v in DUMMIES.values() if isinstance(v, str)}


def _replace_values(recipe: Recipe) -> frozenset[str]:
    """Values the recipe or engine write themselves (``replace`` values, the engine's
    dummies): an original equal to one of them is not a leak."""
    key = ("deid.verify", "replace-values")
    cached: Any = recipe._cache.get(key)
    if cached is None:
        values: set[str] = _engine_dummies()
        for layer in recipe.layers:
            rules = [*layer.tags.values(), *layer.repeating.values(), *layer.vr.values()]
            rules += [*layer.private.values(), *layer.private_creators.values()]
            values.update(r.value.casefold() for r in rules if r.action == "replace" and r.value)
        cached = frozenset(values)
        recipe._cache[key] = cached
    return cached


def generated_text(recipe: Recipe) -> str:
    """What the engine writes from the recipe alone: Patient Identity Removed, the
    De-identification Method (deid, version, recipe name, digest), the method codes and
    their meanings, Longitudinal Temporal Information Modified."""
    key = ("deid.verify", "generated-text")
    cached: Any = recipe._cache.get(key)
    if cached is None:
        from deid import __version__

        parts = ["deid", __version__, recipe.name, recipe.digest, "YES", "NO", "DCM"]
        parts += ["REMOVED", "MODIFIED", "UNMODIFIED"]
        with contextlib.suppress(Exception):  # a hand-built recipe may name unknown codes
            parts += [text for pair in recipe.method_codes() for text in pair]
        cached = "\x00".join(p.casefold() for p in parts if p)
        recipe._cache[key] = cached
    return cached


def dataset_encodings(dataset: Dataset) -> list[str]:
    """Python codecs for the dataset's Specific Character Set (default repertoire if none)."""
    try:
        charset = dataset.get("SpecificCharacterSet")
        value = getattr(charset, "value", charset)
        return list(convert_encodings(value or "ISO_IR 6"))
    except Exception:
        return ["iso8859"]


def gather(original: Dataset, recipe: Recipe) -> IdentifyingSet:
    """Walk the original once and return the needles (see the module docstring)."""
    gone: list[tuple[str, str, str]] = []  # (kind, vr, text)
    kept_cleaned: list[str] = []
    kept_verbatim: list[str] = []
    creators: dict = {}

    def visit(path: str, element: Any, level: Dataset, removed: bool) -> Any:
        tag = int(element.tag)
        group, elem_no = tag >> 16, tag & 0xFFFF
        vr = element.VR or "UN"
        private = group % 2 == 1
        if is_private_creator(tag):
            return SKIP if vr == "SQ" else None  # creator strings: vendor names
        if elem_no == 0x0000:
            return None  # group lengths
        if removed:
            fate = "gone"
        elif private:
            creator = _creator_of(level, tag, creators)
            if creator is None:
                fate = "gone"
            else:
                key = PrivateKey(group, creator, elem_no & 0xFF)
                rule = recipe.rule_for_private(key, vr)
                if rule is not None and is_safe_private_keep(rule):
                    # the engine cleans "safe" private text of identity: not verbatim
                    rule = Rule("C", rule.origin, rule.value)
                fate = _fate(rule, vr, recipe)
        else:
            fate = _fate(recipe.rule_for(tag, vr), vr, recipe)
        if vr == "SQ":
            return fate == "gone"  # the items' state: everything inside is gone
        if vr in BINARY_NUMBER_VRS or tag == 0x7FE00010:
            return None
        texts = _texts(element)
        if fate == "gone":
            if vr in ("TM", "CS"):
                return None
            kind = kind_for(tag, vr, private)
            gone.extend((kind, vr, t) for t in texts)
        else:
            target = kept_verbatim if fate == "kept" else kept_cleaned
            target.extend(fold(t) for t in texts)
        return None

    with warnings.catch_warnings():  # pydicom's warnings quote values
        warnings.simplefilter("ignore")
        walk(original, visit, False, paths=False)

    verbatim = "\x00".join(kept_verbatim)
    cleaned = "\x00".join(kept_cleaned)
    excluded = _replace_values(recipe)
    chosen: dict[str, Needle] = {}
    date_texts = {t[:8] for k, vr, t in gone if vr in ("DA", "DT") or k == "date"}
    for kind, vr, text in gone:
        whole = {fold(text), *_whole_forms(text)} if kind in PATIENT_KINDS else set()
        for candidate in _expand(kind, vr, text):
            candidate = candidate.strip(" \x00")
            if not _acceptable(vr, candidate):
                continue
            folded = fold(candidate)
            if folded in excluded:
                continue
            if folded in verbatim and folded not in whole:
                continue
            if kind not in IDENTITY_KINDS and folded in cleaned:
                continue
            previous = chosen.get(folded)
            if previous is None or KIND_PRIORITY.index(kind) < KIND_PRIORITY.index(previous.kind):
                chosen[folded] = Needle(kind, candidate, folded, _boundary(candidate, kind))
    needles = sorted(chosen.values(), key=lambda n: (KIND_PRIORITY.index(n.kind), n.folded))
    days = {date_of(t) for t in date_texts if fold(t) in chosen}
    return IdentifyingSet(
        needles,
        dataset_encodings(original),
        generated_text(recipe),
        recipe,
        tuple(sorted(d for d in days if d is not None)),
    )


def identifying_values(original: Dataset, recipe: Recipe) -> list[tuple[str, str]]:
    """(kind, value) for every value of ``original`` the recipe did not keep."""
    return gather(original, recipe).pairs()


__all__ = ["IdentifyingSet", "Needle", "date_spellings", "fold", "gather", "identifying_values"]
