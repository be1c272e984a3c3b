"""Private attributes: whose block an element is in, and what the recipe says about it.

PS3.5 7.8: a private element (gggg,xxee) belongs to the block reserved by the creator
element (gggg,00xx); the same creator may own a different block in another file, so
rules address ``PrivateKey(group, creator, ee)`` and never the block byte. Decisions:

* no creator for the block, group lengths, the reserved (gggg,0001-000F) and
  (gggg,0100-0FFF) ranges and the invalid groups 0001-0007 and FFFF: removed (the engine);
* no rule: removed; ``C`` (the table's Retain Safe Private cell) keeps exactly the keys in
  ``recipe.safe_private`` (Table E.3.10-1), anything else ``C`` covers is removed;
* a creator element is kept only while some element of its block is kept (the engine).

Vendor declarations of safety inside the file (Private Data Element Characteristics
Sequence, PS3.15 E.3.10 item 1) are not trusted: only the recipe decides.
"""

from __future__ import annotations

from deid.dicom.privates import private_creators
from deid.recipe.model import PrivateKey, Recipe, Rule

#: id(recipe) -> (recipe, {(group, creator, element, vr): rule or None}); the recipe is
#: held so its id cannot be reused while the cache lives (a worker has one or two recipes).
_PRIVATE_DECISIONS: dict[int, tuple[Recipe, dict[tuple[int, str, int, str], Rule | None]]] = {}


def private_rule(recipe: Recipe, group: int, creator: str, element: int, vr: str) -> Rule | None:
    """The rule a private element follows, or None when it goes (no rule, or ``C`` for a
    key that is not in the recipe's safe list). Cached per recipe: files of one device
    repeat the same private blocks thousands of times."""
    entry = _PRIVATE_DECISIONS.get(id(recipe))
    if entry is None or entry[0] is not recipe:
        if len(_PRIVATE_DECISIONS) > 16:
            _PRIVATE_DECISIONS.clear()
        entry = _PRIVATE_DECISIONS[id(recipe)] = (recipe, {})
    decisions = entry[1]
    cache_key = (group, creator, element, vr)
    try:
        return decisions[cache_key]
    except KeyError:
        pass
    key = PrivateKey(group, creator, element)
    rule = recipe.rule_for_private(key, vr)
    if rule is not None and rule.action == "C" and key not in recipe.safe_private:
        rule = None
    decisions[cache_key] = rule
    return rule


__all__ = ["private_creators", "private_rule"]
