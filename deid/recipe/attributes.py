"""Parse the ways a recipe names an attribute: keyword, tag, repeating group or private.

Why one parser: recipes, profiles, ``deid explain --attribute`` and validation must agree on
what ``PatientName``, ``(0010,0010)``, ``(60xx,3000)`` and ``(0029,"SIEMENS CSA HEADER",10)``
mean, and must say the same helpful thing ("did you mean ...") when they do not.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydicom.datadict import dictionary_VR, keyword_dict, keyword_for_tag

from deid.recipe.language import HEX2, HEX4, KEYWORD, PRIVATE_ROW
from deid.recipe.model import ANY_ELEMENT, ANY_GROUP, PrivateKey, Rule, RuleLayer

_TAG_RE = re.compile(rf"^\(\s*({HEX4})\s*,\s*({HEX4})\s*\)$")
_REPEATING_RE = re.compile(rf"^\(\s*(50|60)[Xx]{{2}}\s*,\s*({HEX4}|[Xx]{{4}})\s*\)$")
_PRIVATE_RE = re.compile(rf'^\(\s*({HEX4})\s*,\s*"([^"]*)"\s*,\s*(?:[Xx]{{2}})?({HEX2})\s*\)$')
_BLOCK_RE = re.compile(rf'^\(\s*({HEX4})\s*,\s*"([^"]*)"\s*\)$')

Kind = Literal["tag", "repeating", "private", "block", "private-default"]


@dataclass(frozen=True)
class AttributeRef:
    """One attribute (or family of attributes) a rule can address.

    ``vrs`` are the VRs pydicom's dictionary gives (empty when unknown, e.g. private data),
    used to check that an action fits ("U only on UI").
    """

    kind: Kind
    label: str
    tag: int | None = None
    repeating: tuple[int, int] | None = None
    private: PrivateKey | None = None
    block: tuple[int, str] | None = None
    vrs: tuple[str, ...] = ()
    keyword: str = ""

    @property
    def identity(self) -> object:
        """What two spellings of the same attribute share (to spot duplicate rules)."""
        return (self.kind, self.tag, self.repeating, self.private, self.block)


class AttributeSyntaxError(ValueError):
    """An attribute name a recipe cannot use; the message says how to fix it."""


class UnknownKeyword(AttributeSyntaxError):
    """Well-formed, but not a keyword of pydicom's dictionary (no JSON Schema can tell)."""


@cache
def _keywords() -> tuple[str, ...]:
    return tuple(keyword_dict)


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """' (did you mean "X"?)' for the closest choice, or ''."""
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f' (did you mean "{matches[0]}"?)' if matches else ""


def _vrs(tag: int) -> tuple[str, ...]:
    try:
        return tuple(v.strip() for v in dictionary_VR(tag).split(" or "))
    except KeyError:
        return ()


def parse_attribute(text: str) -> AttributeRef:
    """Parse a keyword, ``(gggg,eeee)``, ``(60xx,eeee)``, ``(50xx,xxxx)`` or
    ``(gggg,"CREATOR",ee)``; raise :class:`AttributeSyntaxError` with a fix otherwise."""
    text = text.strip()
    if text == PRIVATE_ROW:
        return AttributeRef("private-default", PRIVATE_ROW)
    if text.startswith("("):
        return _parse_tag(text)
    if not re.fullmatch(KEYWORD, text):
        raise AttributeSyntaxError(
            f'malformed attribute "{text}": write a keyword (PatientName), a tag (0010,0010), '
            'a repeating tag (60xx,3000) or a private tag (0029,"CREATOR",10)'
        )
    tag = keyword_dict.get(text)
    if tag is None:
        raise UnknownKeyword(f'unknown attribute keyword "{text}"{suggest(text, _keywords())}')
    return AttributeRef("tag", f"{text} {format_tag(tag)}", tag=tag, vrs=_vrs(tag), keyword=text)


def _parse_tag(text: str) -> AttributeRef:
    match = _TAG_RE.match(text)
    if match:
        group, element = int(match[1], 16), int(match[2], 16)
        tag = (group << 16) | element
        if group % 2 == 1:
            if group in (0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF):
                raise AttributeSyntaxError(
                    f"malformed tag {text}: group {group:04X} is not allowed"
                )
            hint = f'({group:04X},"CREATOR",{element & 0xFF:02X})'
            raise AttributeSyntaxError(
                f"private tag {text} needs its creator, because private blocks move between "
                f"files: write {hint}"
            )
        keyword = keyword_for_tag(tag) or ""
        label = f"{keyword} {format_tag(tag)}" if keyword else format_tag(tag)
        return AttributeRef("tag", label, tag=tag, vrs=_vrs(tag), keyword=keyword)
    match = _REPEATING_RE.match(text)
    if match:
        base = int(match[1], 16) << 8
        element = ANY_ELEMENT if match[2].lower() == "xxxx" else int(match[2], 16)
        label = f"({match[1]}xx,{'xxxx' if element == ANY_ELEMENT else f'{element:04X}'})"
        vrs = _vrs((base << 16) | element) if element != ANY_ELEMENT else ()
        return AttributeRef("repeating", label, repeating=(base, element), vrs=vrs)
    match = _PRIVATE_RE.match(text)
    if match:
        group = _private_group(match[1], text)
        creator = match[2].strip()
        if not creator:
            raise AttributeSyntaxError(f"private tag {text} has an empty creator")
        key = PrivateKey(group, creator, int(match[3], 16))
        return AttributeRef("private", str(key), private=key)
    match = _BLOCK_RE.match(text)
    if match:
        group = _private_group(match[1], text)
        if not match[2].strip():
            raise AttributeSyntaxError(f"private block {text} has an empty creator")
        return AttributeRef("block", f'({group:04X},"{match[2]}")', block=(group, match[2]))
    raise AttributeSyntaxError(
        f"malformed tag {text}: write (gggg,eeee) in hex, (60xx,eeee), (50xx,xxxx) or "
        '(gggg,"CREATOR",ee) for private data'
    )


def _private_group(hex_group: str, text: str) -> int:
    group = int(hex_group, 16)
    if group % 2 == 0:
        raise AttributeSyntaxError(
            f"malformed private tag {text}: group {group:04X} is even; private groups are odd"
        )
    if group < 0x0009 or group == 0xFFFF:
        raise AttributeSyntaxError(f"malformed private tag {text}: group {group:04X} is reserved")
    return group


def parse_creator(text: str) -> AttributeRef:
    """A ``private-creators`` key: ``CREATOR`` (any group), ``(gggg,"CREATOR")`` or ``*``."""
    text = text.strip()
    if text == "*":
        return AttributeRef("private-default", "every other private attribute")
    if text.startswith("("):
        ref = _parse_tag(text)
        if ref.kind != "block":
            raise AttributeSyntaxError(
                f'private creator key {text} must be "CREATOR" or (gggg,"CREATOR"); put single '
                "attributes under attributes:"
            )
        return ref
    if not text:
        raise AttributeSyntaxError("empty private creator")
    return AttributeRef("block", f'(odd,"{text}")', block=(ANY_GROUP, text))


def format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def place_rule(layer: RuleLayer, ref: AttributeRef, rule: Rule) -> None:
    """Store ``rule`` in the part of ``layer`` that :class:`Recipe` consults for ``ref``.

    One function for recipes and profiles alike, so a rule lands where lookup finds it."""
    if ref.kind == "tag":
        layer.tags[ref.tag] = rule  # type: ignore[index]
    elif ref.kind == "repeating":
        layer.repeating[ref.repeating] = rule  # type: ignore[index]
    elif ref.kind == "private":
        layer.private[ref.private] = rule  # type: ignore[index]
    elif ref.kind == "block":
        layer.private_creators[ref.block] = rule  # type: ignore[index]
    elif ref.kind == "private-default":
        layer.private_default = rule
