"""Private attributes: whose block an element is in, and Retain Safe Private's keeps.

PS3.5 7.8: a private element (gggg,xxee), xx >= 0x10, belongs to the block reserved by
the creator element (gggg,00xx) of the same dataset. An element with no creator (or an
empty one) belongs to no block: the engine removes it, so verify counts its value as gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

#: The PS3.15 option whose per-key K rules keep Table E.3.10-1's "safe" private attributes.
SAFE_PRIVATE_OPTION = "retain-safe-private"


class _Rule(Protocol):
    """What the predicate reads of a :class:`deid.recipe.model.Rule` (this layer is below
    the recipe's: it names the attributes, not the class)."""

    @property
    def action(self) -> str: ...

    @property
    def origin(self) -> Any: ...


def is_private_creator(tag: int) -> bool:
    """(gggg,0010-00FF) of an odd group: a Private Creator element."""
    return bool((tag >> 16) & 1) and 0x0010 <= (tag & 0xFFFF) <= 0x00FF


def creator_tag(tag: int) -> int | None:
    """The creator element of a private element's block; None outside any block."""
    group, element = tag >> 16, tag & 0xFFFF
    if not group & 1 or element < 0x1000:
        return None
    return (group << 16) | (element >> 8)


def creator_text(value: Any) -> str | None:
    """A creator element's value as the block's name; None when it names no one."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    text = str(value).strip(" \x00")
    return text or None


def private_creators(ds: Any, tags: Iterable[int]) -> dict[tuple[int, int], str]:
    """(group, block byte) -> creator, from the (gggg,0010-00FF) elements of ``ds``."""
    creators: dict[tuple[int, int], str] = {}
    for tag in tags:
        if is_private_creator(tag):
            try:
                value = ds[tag].value
            except Exception:
                continue
            creator = creator_text(value)
            if creator:
                creators[(tag >> 16, tag & 0xFFFF)] = creator
    return creators


def block_creator(ds: Any, tag: int) -> str | None:
    """The creator of private element ``tag``'s block in ``ds``, as the engine reads it."""
    at = creator_tag(tag)
    if at is None or at not in ds:
        return None
    try:
        return creator_text(ds[at].value)
    except Exception:
        return None


def is_safe_private_keep(rule: _Rule) -> bool:
    """A K that comes from Retain Safe Private's table (not from a recipe's own rule): the
    engine keeps the value but cleans identity out of it, so it is not kept verbatim."""
    return (
        rule.action == "K"
        and rule.origin.layer == "option"
        and rule.origin.name == SAFE_PRIVATE_OPTION
    )
