"""Recipes: the standard's profiles plus what users compose on top (see recipes/README.md).

``load_recipe(path)``, ``recipe_from_text(text, name, base_dir)`` and ``builtin_recipe(name)``
return a composed :class:`deid.recipe.model.Recipe` or raise :class:`deid.errors.RecipeError`
whose message starts with ``file:line:column``.
"""

from __future__ import annotations

from deid.recipe.loader import (
    BUILTIN_RECIPES,
    builtin_recipe,
    check_file,
    check_text,
    load_recipe,
    recipe_from_text,
)
from deid.recipe.model import Recipe

__all__ = [
    "BUILTIN_RECIPES",
    "Recipe",
    "builtin_recipe",
    "check_file",
    "check_text",
    "load_recipe",
    "recipe_from_text",
]
