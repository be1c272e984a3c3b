"""The effective recipe: what the loader builds and the engine, pixels and pipeline consume.

A recipe is a stack of *layers*. The bottom layer is the VR safety net for attributes the
standard's table does not list, then the profile (Basic Profile), then each option in the
order the recipe names them, then each recipe file from the most basic ``extends`` to the
file the user named. Lookup walks the stack from the top: the first layer that has a rule
decides. Inside one layer a rule for the exact attribute beats a rule for its VR
("later and more specific wins"). Every rule carries its :class:`Origin`, so ``deid
explain`` can name the file and line that decided.

This module is only data plus the lookup; loading, composition and validation live in the
sibling modules, the actions themselves in :mod:`deid.rewrite`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: Action codes of PS3.15 Table E.1-1a, plus the recipe-only ``replace`` (set a fixed value)
#: and ``pseudonym`` (a keyed pseudonym, used for Patient ID and Patient's Name).
STANDARD_ACTIONS = ("D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*")
RECIPE_ACTIONS = ("replace", "pseudonym")
ALL_ACTIONS = STANDARD_ACTIONS + RECIPE_ACTIONS

#: Option names as recipes spell them, in the order of PS3.15 E.3, with their CID 7050 code
#: and the Table E.1-1 column (None for the two options that act on pixels only).
OPTIONS: dict[str, tuple[str, str | None]] = {
    "clean-pixel-data": ("113101", None),
    "clean-recognizable-visual-features": ("113102", None),
    "clean-graphics": ("113103", "clean_graphics"),
    "clean-structured-content": ("113104", "clean_structured_content"),
    "clean-descriptors": ("113105", "clean_descriptors"),
    "retain-longitudinal-full-dates": ("113106", "retain_longitudinal_full_dates"),
    "retain-longitudinal-modified-dates": ("113107", "retain_longitudinal_modified_dates"),
    "retain-patient-characteristics": ("113108", "retain_patient_characteristics"),
    "retain-device-identity": ("113109", "retain_device_identity"),
    "retain-uids": ("113110", "retain_uids"),
    "retain-safe-private": ("113111", "retain_safe_private"),
    "retain-institution-identity": ("113112", "retain_institution_identity"),
}
#: Option name -> its Table E.1-1 column (the profile generator and the table tests read it).
OPTION_COLUMNS: dict[str, str | None] = {name: column for name, (_code, column) in OPTIONS.items()}
BASIC_PROFILE_CODE = "113100"

#: Wildcards for :class:`RuleLayer` keys. ``repeating[(0x5000, ANY_ELEMENT)]`` is the table's
#: ``(50xx,xxxx)`` row (every element of the curve groups); ``private_creators[(ANY_GROUP,
#: creator)]`` is a recipe's rule for a creator's blocks in whichever odd group they sit.
ANY_ELEMENT = -1
ANY_GROUP = -1


@dataclass(frozen=True)
class Origin:
    """Where a rule came from, for ``deid explain`` and for error messages."""

    layer: str  # "safety-net", "profile", "option", "recipe"
    name: str  # e.g. "basic", "retain-device-identity", "recipes/research.yaml"
    file: str = ""
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "built-in")
        return f"{self.layer} {self.name} ({where})"


@dataclass(frozen=True)
class Rule:
    """One decision: an action code, an optional fixed value, and where it was written."""

    action: str
    origin: Origin
    value: str | None = None  # for "replace"


@dataclass(frozen=True)
class PrivateKey:
    """A private attribute by its creator, as Table E.3.10-1 and recipes address it.

    ``group`` is the odd group number, ``element`` the low byte of the element number
    (the ``xx`` in ``(0029,xx10)``): a creator's block may move between files, so the
    block byte is never part of the key.
    """

    group: int
    creator: str
    element: int

    def __str__(self) -> str:
        return f'({self.group:04X},"{self.creator}",{self.element:02X})'


@dataclass
class RuleLayer:
    """All rules of one layer; see the module docstring for how layers stack."""

    origin: Origin
    tags: dict[int, Rule] = field(default_factory=dict)
    #: Repeating groups (50xx, 60xx): key is (group & 0xFF00, element), e.g. (0x6000, 0x3000).
    repeating: dict[tuple[int, int], Rule] = field(default_factory=dict)
    vr: dict[str, Rule] = field(default_factory=dict)
    private: dict[PrivateKey, Rule] = field(default_factory=dict)
    #: Rules for a whole private block: key (group, creator).
    private_creators: dict[tuple[int, str], Rule] = field(default_factory=dict)
    #: The table's "(gggg,eeee) where gggg is odd" row, or a recipe's rule for all private data.
    private_default: Rule | None = None

    def repeating_rule(self, key: tuple[int, int]) -> Rule | None:
        """The rule for repeating-group ``key`` (group & 0xFF00, element): exact element
        first, then the group's any-element row; one place so lookup and explain agree."""
        return self.repeating.get(key) or self.repeating.get((key[0], ANY_ELEMENT))

    def block_rule(self, group: int, creator: str) -> Rule | None:
        """The rule for a creator's private block: in this group first, then in any group."""
        return self.private_creators.get((group, creator)) or self.private_creators.get(
            (ANY_GROUP, creator)
        )


@dataclass(frozen=True)
class Condition:
    """Header conditions, all of which must hold: keyword -> accepted values.

    Values are matched as shell-style globs, case-insensitively, against the attribute's
    string form (multi-valued attributes match when any value does). Integers compare as
    their decimal text. An empty condition matches every dataset.
    """

    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    origin: Origin | None = None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], origin: Origin | None = None) -> Condition:
        items = []
        for keyword, accepted in mapping.items():
            values = accepted if isinstance(accepted, (list, tuple)) else [accepted]
            items.append((str(keyword), tuple(str(v) for v in values)))
        return cls(tuple(items), origin)

    def matches(self, dataset: Any) -> bool:
        for keyword, accepted in self.attributes:
            raw = dataset.get(keyword) if hasattr(dataset, "get") else None
            value = getattr(raw, "value", raw)
            if value is None:
                return False
            candidates = (
                [str(v) for v in value]
                if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"
                else [str(value)]
            )
            if not any(
                fnmatch.fnmatchcase(c.strip().upper(), a.upper())
                for c in candidates
                for a in accepted
            ):
                return False
        return True


@dataclass(frozen=True)
class TextPattern:
    """A free-text pattern that Clean (C) removes from descriptors, with its replacement."""

    name: str
    regex: re.Pattern[str]
    replacement: str = ""
    origin: Origin | None = None


@dataclass(frozen=True)
class DatePolicy:
    """What happens to DA, DT and TM values that the rules do not remove.

    ``remove``: no Retain Longitudinal option (the Basic Profile's codes apply as written).
    ``keep``: Retain Longitudinal Temporal Information with Full Dates.
    ``shift``: with Modified Dates: shift by a keyed per-patient offset of
    ``min_days..max_days`` days (inclusive), so intervals within a patient survive.
    """

    mode: Literal["remove", "keep", "shift"] = "remove"
    min_days: int = -3650
    max_days: int = -365


@dataclass(frozen=True)
class UidPolicy:
    """``remap``: keyed ``2.25.<int>`` replacement; ``keep``: Retain UIDs option."""

    mode: Literal["remap", "keep"] = "remap"


@dataclass(frozen=True)
class PatientPolicy:
    """How Patient ID and Patient's Name are replaced when their rule says ``pseudonym``.

    The pseudonym is ``id_prefix`` + a keyed digest of the original Patient ID, so the same
    patient gets the same pseudonym in every file and run that use the same key.
    """

    id_prefix: str = "DEID-"
    name: Literal["pseudonym", "empty"] = "pseudonym"


@dataclass(frozen=True)
class PixelRegionRule:
    """A device signature and the rectangles (x, y, width, height) it always burns text into."""

    when: Condition
    boxes: tuple[tuple[int, int, int, int], ...]
    origin: Origin | None = None


@dataclass(frozen=True)
class PixelSettings:
    """Clean Pixel Data settings (meaningful only when the option is on)."""

    enabled: bool = False
    #: Files whose pixels are cleaned; a dataset matching none of them is only checked.
    clean_when: tuple[Condition, ...] = ()
    ocr: bool = True
    regions: tuple[PixelRegionRule, ...] = ()
    #: Tokens OCR may leave in place (case-insensitive, whole token), e.g. L, R, cm.
    allow_tokens: tuple[str, ...] = ()
    margin: int = 3
    #: A file with Burned In Annotation = YES that no clean_when matches: quarantine or keep.
    burned_in_unmatched: Literal["quarantine", "keep"] = "quarantine"
    #: Overlay planes (60xx,3000): "remove" them, or "scan" them for text like a frame.
    overlays: Literal["remove", "scan"] = "remove"


@dataclass(frozen=True)
class ExcludeRule:
    """Files the recipe refuses to de-identify, with the reason the ledger records."""

    when: Condition
    reason: str
    origin: Origin | None = None


@dataclass
class Recipe:
    """The composed, validated recipe. Build it with :func:`deid.recipe.load_recipe`."""

    name: str
    path: str
    digest: str  # sha256 over every composed file, so the ledger can tell recipes apart
    profile: str = "basic"
    options: tuple[str, ...] = ()
    layers: list[RuleLayer] = field(default_factory=list)
    safe_private: frozenset[PrivateKey] = frozenset()
    uids: UidPolicy = field(default_factory=UidPolicy)
    dates: DatePolicy = field(default_factory=DatePolicy)
    patient: PatientPolicy = field(default_factory=PatientPolicy)
    text_patterns: tuple[TextPattern, ...] = ()
    pixels: PixelSettings = field(default_factory=PixelSettings)
    exclude: tuple[ExcludeRule, ...] = ()
    #: Where the key comes from (never the key): "env:DEID_KEY", "file:PATH" or "ledger".
    key_source: str = "ledger"
    source_files: tuple[str, ...] = ()
    _cache: dict[Any, Rule | None] = field(default_factory=dict, repr=False, compare=False)

    # -- lookup ---------------------------------------------------------------------------
    def rule_for(self, tag: int, vr: str) -> Rule | None:
        """The deciding rule for a standard (even-group) attribute, or None for "keep"."""
        key = (tag, vr)
        try:
            return self._cache[key]
        except KeyError:
            pass
        repeating_key = None
        group = tag >> 16
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:
            repeating_key = (group & 0xFF00, tag & 0xFFFF)
        found: Rule | None = None
        for layer in reversed(self.layers):
            rule = layer.tags.get(tag)
            if rule is None and repeating_key is not None:
                rule = layer.repeating_rule(repeating_key)
            if rule is None:
                rule = layer.vr.get(vr)
            if rule is not None:
                found = rule
                break
        self._cache[key] = found
        return found

    def rule_for_private(self, key: PrivateKey, vr: str) -> Rule | None:
        """The deciding rule for a private attribute: by creator and element, then block,
        then the private default. VR rules never apply to private data (a leak risk)."""
        cache_key = ("p", key, vr)
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        found: Rule | None = None
        for layer in reversed(self.layers):
            rule = layer.private.get(key) or layer.block_rule(key.group, key.creator)
            if rule is None:
                rule = layer.private_default
            if rule is not None:
                found = rule
                break
        self._cache[cache_key] = found
        return found

    def has_option(self, option: str) -> bool:
        return option in self.options

    def method_codes(self) -> list[tuple[str, str]]:
        """(code value, code meaning) of CID 7050 for the profile and each applied option."""
        from deid.recipe.codes import CODE_MEANINGS  # generated from the standard's table

        codes = [BASIC_PROFILE_CODE] + [OPTIONS[o][0] for o in self.options if o in OPTIONS]
        seen: list[str] = []
        for code in codes:
            if code not in seen:
                seen.append(code)
        return [(code, CODE_MEANINGS[code]) for code in sorted(seen)]

    def excluded_by(self, dataset: Any) -> ExcludeRule | None:
        for rule in self.exclude:
            if rule.when.matches(dataset):
                return rule
        return None
