"""Person Name (PN) values: component groups, components, and the forms people write.

PS3.5 6.2.1: a PN value has up to three component groups separated by ``=`` (alphabetic,
ideographic, phonetic), each of up to five components separated by ``^`` (family, given,
middle, prefix, suffix). In free text a name is written with spaces between components, or
(CJK names) with none.
"""

from __future__ import annotations

import re

#: Components and the words inside them: verify also splits on spaces and commas.
WORD_SPLIT = re.compile(r"[\^=\s,]+")


def groups(name: str) -> list[str]:
    """The component groups of a PN value (alphabetic, ideographic, phonetic)."""
    return name.split("=")


def components(group: str) -> list[str]:
    """The non-empty components of one component group, stripped."""
    return [c.strip() for c in group.split("^") if c.strip()]


def spaced(group: str) -> str:
    """A component group as written in text: its components separated by one space."""
    return " ".join(p for p in group.split("^") if p).strip()


def unspaced(group: str) -> str:
    """A component group written without separators (how CJK names are written)."""
    return group.replace("^", "").strip()


def group_forms(group: str) -> set[str]:
    """A component group as stored, spaced and unspaced."""
    return {group, spaced(group), unspaced(group)}


def is_multi_component(group: str) -> bool:
    """More than one component (or a component of several words): a whole name, not a
    single word that might be in any sentence."""
    group = group.strip(" ^")
    return "^" in group or " " in group


def name_parts(name: str) -> list[str]:
    """What text cleaning removes for one PN value: every non-empty component of every
    group, and each non-blank group spaced and unspaced (CJK names are written unspaced)."""
    parts: list[str] = []
    for group in groups(name):
        parts.extend(components(group))
        if group.strip():
            parts.append(spaced(group))
            parts.append(unspaced(group))
    return parts
