"""The recipe language as one table: sections, keys, choices, bounds, the attribute-key grammar.

Why a table: ``deid validate`` (:mod:`deid.recipe.document`) and the JSON Schema editors use
(:mod:`deid.recipe.schema`) must accept the same recipes. The schema is generated from the
tree below, and the validator takes every key list, choice, bound and pattern from the same
nodes, so a change to the language is one edit here and cannot make the two drift. What a
JSON Schema cannot say (the attribute dictionary, whether an action or value fits a VR, regex
validity, ``extends`` files and cycles, policies against options, two spellings of one
attribute) stays in the validator; it reports those as *meaning* errors, and everything the
schema also checks as *shape* errors (``Diagnostic.kind``).

Patterns are written once in the common subset of Python's ``re`` and ECMA-262 (what JSON
Schema and editors use): no inline flags, no ``\\Z``; :func:`full` anchors them for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from pydicom.valuerep import VR as _PYDICOM_VR

from deid.recipe.model import ALL_ACTIONS, OPTIONS

FORMAT_VERSION = 1


# -- node kinds ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """A scalar read as text. ``numbers``: a YAML number is taken as the text written
    (``id-prefix: 123``); ``booleans``: so is a YAML boolean (``Modality: YES`` in a
    condition)."""

    min_length: int = 0
    max_length: int | None = None
    #: A regex the whole text must match (Python/ECMA-262 common subset, unanchored body).
    pattern: str | None = None
    numbers: bool = True
    booleans: bool = False


@dataclass(frozen=True)
class Integer:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Boolean:
    pass


@dataclass(frozen=True)
class Const:
    value: int


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Number:
    """A fixed value written into an attribute: text or a number, never a boolean."""


@dataclass(frozen=True)
class ListOf:
    item: Node
    min_items: int = 0
    unique: bool = False


@dataclass(frozen=True)
class Tuple:
    """A list of exactly ``len(items)`` values (a box is [x, y, width, height])."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Requires:
    """When ``key`` equals one of ``values`` (or, with ``negate``, none of them), ``field``
    must be present (``present=True``) or absent (``present=False``)."""

    key: str
    values: tuple[str, ...]
    field: str
    present: bool = True
    negate: bool = False


@dataclass(frozen=True)
class Fields:
    """A mapping with a closed set of keys."""

    fields: dict[str, Node]
    required: tuple[str, ...] = ()
    rules: tuple[Requires, ...] = ()
    #: Keys whose value may be left empty (YAML null: "every line commented out").
    nullable: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.fields)


@dataclass(frozen=True)
class MapOf:
    """A mapping from keys of one grammar to values of one kind."""

    key: Text | Choice
    value: Node


@dataclass(frozen=True)
class OneOf:
    options: tuple[Node, ...]


Node: TypeAlias = (
    Text | Integer | Boolean | Const | Choice | Number | ListOf | Tuple | Fields | MapOf | OneOf
)


def full(pattern: str) -> str:
    """``pattern`` anchored at both ends, the same way in Python and ECMA-262.

    ``$`` would also match before a final newline in Python; the lookahead does not."""
    return rf"^(?:{pattern})(?![\s\S])"


# -- the attribute-key grammar ------------------------------------------------------------
HEX2 = "[0-9A-Fa-f]{2}"
HEX4 = "[0-9A-Fa-f]{4}"
#: A standard (even) group; an odd group is private and needs its creator.
EVEN_GROUP = "[0-9A-Fa-f]{3}[02468AaCcEe]"
#: An odd group a private block can sit in: not 0001, 0003, 0005, 0007 or FFFF.
PRIVATE_GROUP = "(?!000[1357])(?![Ff]{4})[0-9A-Fa-f]{3}[13579BbDdFf]"
#: A private creator: quoted, not blank.
CREATOR = '"[^"]*[^"\\s][^"]*"'
KEYWORD = "[A-Za-z][A-Za-z0-9]*"
PRIVATE_ROW = "(gggg,eeee) where gggg is odd"
_S = r"\s*"

#: Every spelling of an attribute key under ``attributes:`` (leading/trailing blanks allowed).
ATTRIBUTE_FORMS: dict[str, str] = {
    "keyword": KEYWORD,
    "tag": rf"\({_S}{EVEN_GROUP}{_S},{_S}{HEX4}{_S}\)",
    "repeating": rf"\({_S}(?:50|60)[Xx]{{2}}{_S},{_S}(?:{HEX4}|[Xx]{{4}}){_S}\)",
    "private": rf"\({_S}{PRIVATE_GROUP}{_S},{_S}{CREATOR}{_S},{_S}(?:[Xx]{{2}})?{HEX2}{_S}\)",
    "private-row": r"\(gggg,eeee\) where gggg is odd",
}
ATTRIBUTE_KEY = rf"{_S}(?:{'|'.join(ATTRIBUTE_FORMS.values())}){_S}"
#: A ``private-creators`` key: ``*``, ``(gggg,"CREATOR")``, or a bare creator name.
CREATOR_KEY = rf"{_S}(?:\*|\({_S}{PRIVATE_GROUP}{_S},{_S}{CREATOR}{_S}\)|[^(\s][\s\S]*?){_S}"
#: An environment variable name (``key: {from: env, name: ...}``).
ENV_NAME = "[A-Za-z_][A-Za-z0-9_]*"

# -- values --------------------------------------------------------------------------------
#: VR names; :mod:`pydicom` is the authority, read here so the schema lists the same ones.
VR_NAMES: tuple[str, ...] = tuple(v.value for v in _PYDICOM_VR)
PROFILES = ("basic",)
KEY_SOURCES = ("env", "file", "ledger")
UID_POLICIES = ("remap", "keep")
DATE_POLICIES = ("remove", "keep", "shift")
PATIENT_NAMES = ("pseudonym", "empty")
UNMATCHED_BURNED_IN = ("quarantine", "keep")
OVERLAY_POLICIES = ("remove", "scan")
MAX_SHIFT_DAYS = 36500
MAX_PIXELS = 65535
MAX_MARGIN = 100
MAX_ID_PREFIX = 32
#: Actions that make no sense for a whole private block (no VR, no single value).
NOT_FOR_BLOCKS = ("U", "pseudonym", "replace")
#: Actions that make no sense for every attribute of a VR (a pseudonym is per attribute).
NOT_FOR_VRS = ("pseudonym",)
#: The actions a ``value:`` goes with, and the one that needs it.
VALUE_ACTIONS = ("replace", "D")

# -- nodes ---------------------------------------------------------------------------------
SHIFT_DAY = Integer(-MAX_SHIFT_DAYS, MAX_SHIFT_DAYS)
MARGIN = Integer(0, MAX_MARGIN)
ID_PREFIX = Text(max_length=MAX_ID_PREFIX, pattern=r"[^\\]*")
KEY_NAME = Text(pattern=ENV_NAME, numbers=False)
KEY_PATH = Text(pattern=r"[\s\S]*\S[\s\S]*")
#: One allowed OCR token: one word (no space inside once trimmed).
TOKEN = Text(pattern=r"\s*\S(?:[^ ]*\S)?\s*", booleans=True)
#: An exclude reason goes to the ledger as one line.
REASON_LINE = Text(pattern=r"[^\n]*\S[^\n]*")
CONDITION_VALUE = Text(booleans=True)
PATTERN_NAME = Text(min_length=1)
EXTENDS_TARGET = Text(min_length=1, numbers=False)
COORDINATE = Integer(0, MAX_PIXELS - 1)
EXTENT = Integer(1, MAX_PIXELS)


def rule(actions: tuple[str, ...]) -> OneOf:
    """An action, or ``{action, value, reason}``: a value only with replace or D, and
    replace needs one."""
    bare = Choice(tuple(a for a in actions if a != "replace"))  # replace needs its value
    written = Fields(
        {"action": Choice(actions), "value": Number(), "reason": Text()},
        required=("action",),
        rules=(
            Requires("action", ("replace",), "value"),
            Requires("action", VALUE_ACTIONS, "value", present=False, negate=True),
        ),
    )
    return OneOf((bare, written))


CONDITION = MapOf(
    Text(pattern=KEYWORD, numbers=False),
    OneOf((CONDITION_VALUE, ListOf(CONDITION_VALUE, min_items=1))),
)
BOX = Tuple((COORDINATE, COORDINATE, EXTENT, EXTENT))
PIXELS = Fields(
    {
        "clean": ListOf(CONDITION),
        "ocr": Boolean(),
        "allow-tokens": ListOf(TOKEN),
        "regions": ListOf(
            Fields({"when": CONDITION, "boxes": ListOf(BOX, min_items=1)}, ("when", "boxes"))
        ),
        "margin": MARGIN,
        "burned-in-unmatched": Choice(UNMATCHED_BURNED_IN),
        "overlays": Choice(OVERLAY_POLICIES),
    }
)
KEY = Fields(
    {"from": Choice(KEY_SOURCES), "name": KEY_NAME, "path": KEY_PATH},
    required=("from",),
    rules=(Requires("from", ("env",), "name"), Requires("from", ("file",), "path")),
)
DATES = Fields(
    {
        "policy": Choice(DATE_POLICIES),
        "shift-days": Fields({"min": SHIFT_DAY, "max": SHIFT_DAY}, ("min", "max")),
    },
    required=("policy",),
    rules=(Requires("policy", ("shift",), "shift-days", present=False, negate=True),),
)
TEXT_PATTERN = Fields(
    {"name": PATTERN_NAME, "regex": Text(min_length=1), "replacement": Text()},
    ("name", "regex"),
)
EXCLUDE = Fields({"when": CONDITION, "reason": REASON_LINE}, ("when", "reason"))

SECTIONS: dict[str, Node] = {
    "deid-recipe": Const(FORMAT_VERSION),
    "description": Text(),
    "extends": OneOf((EXTENDS_TARGET, ListOf(EXTENDS_TARGET))),
    "profile": Choice(PROFILES),
    "options": ListOf(Choice(tuple(OPTIONS)), unique=True),
    "key": KEY,
    "uids": Fields({"policy": Choice(UID_POLICIES)}),
    "dates": DATES,
    "patient": Fields({"id-prefix": ID_PREFIX, "name": Choice(PATIENT_NAMES)}),
    "attributes": MapOf(Text(pattern=ATTRIBUTE_KEY, numbers=False), rule(ALL_ACTIONS)),
    "private-creators": MapOf(
        Text(pattern=CREATOR_KEY, numbers=False),
        rule(tuple(a for a in ALL_ACTIONS if a not in NOT_FOR_BLOCKS)),
    ),
    "vr": MapOf(Choice(VR_NAMES), rule(tuple(a for a in ALL_ACTIONS if a not in NOT_FOR_VRS))),
    "text-patterns": ListOf(TEXT_PATTERN),
    "pixels": PIXELS,
    "exclude": ListOf(EXCLUDE),
}
#: The whole language. Every section but the version and the key may be left empty.
RECIPE = Fields(
    SECTIONS,
    required=("deid-recipe",),
    nullable=tuple(name for name in SECTIONS if name not in ("deid-recipe", "key")),
)
TOP_LEVEL_KEYS = RECIPE.keys


#: Keys of a nested section that an author may put at the top level by mistake.
NESTED_KEYS: dict[str, str] = {
    **{name: "pixels" for name in PIXELS.keys},
    **{name: "dates" for name in DATES.keys if name != "policy"},
    **{name: "patient" for name in ("id-prefix",)},
}
