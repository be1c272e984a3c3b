"""The entry points other parts of deid call: load a recipe file, text, or a built-in recipe.

Why they raise on the first problem: a run must not start on a recipe that is not exactly
what the user meant; ``deid validate`` uses :func:`check_file` to see every problem at once.
"""

from __future__ import annotations

from pathlib import Path

from deid.errors import RecipeError
from deid.recipe.compose import (
    BUILTIN_RECIPES,
    Composition,
    builtin_path,
    compose,
    read_document,
)
from deid.recipe.document import parse_document
from deid.recipe.model import Recipe
from deid.recipe.profiles import display_path
from deid.recipe.yamlsrc import Diagnostic


class RecipeFileMissing(RecipeError):
    """The recipe named on the command line does not exist (a usage error, exit 2)."""


def _raise_first(composition: Composition) -> Recipe:
    if composition.recipe is None:
        first = composition.diagnostics[0] if composition.diagnostics else None
        more = len(composition.diagnostics) - 1
        suffix = f" (and {more} more; run deid validate)" if more > 0 else ""
        error = RecipeError(f"{first}{suffix}" if first else "invalid recipe")
        error.diagnostics = list(composition.diagnostics)  # type: ignore[attr-defined]
        raise error
    return composition.recipe


def check_file(path: str | Path) -> Composition:
    """Parse and compose a recipe file, collecting every problem instead of raising.

    A bare built-in name (``research``) that is not a file in the working directory means
    the shipped recipe of that name."""
    file = Path(path)
    if not file.exists():  # `deid run research ...` names a shipped recipe
        file = builtin_path(str(path)) or file
    if not file.is_file():
        shown = display_path(file)
        reason = "is a directory" if file.is_dir() else "no such file"
        raise RecipeFileMissing(f"{shown}: cannot read recipe: {reason}")
    doc, problems = read_document(file)
    return compose(doc, problems, file.stem)


def check_text(text: str, name: str = "<text>", base_dir: Path | None = None) -> Composition:
    """Like :func:`check_file` for recipe text (``name`` is what messages call it)."""
    doc, problems = parse_document(text, name, None, base_dir or Path.cwd())
    return compose(doc, problems, name)


def load_recipe(path: str | Path) -> Recipe:
    """The composed recipe in ``path``; :class:`RecipeError` ``path:line:col: message`` if not."""
    return _raise_first(check_file(path))


def recipe_from_text(text: str, name: str = "<text>", base_dir: Path | None = None) -> Recipe:
    """The composed recipe written in ``text``; relative ``extends`` resolve from ``base_dir``."""
    return _raise_first(check_text(text, name, base_dir))


def builtin_recipe(name: str) -> Recipe:
    """One of the recipes deid ships: ``basic``, ``research`` or ``retain-uids``."""
    path = builtin_path(name)
    if path is None:
        raise RecipeError(
            f'no built-in recipe "{name}"; built-in recipes are {", ".join(BUILTIN_RECIPES)}'
        )
    return load_recipe(path)


__all__ = [
    "BUILTIN_RECIPES",
    "Diagnostic",
    "RecipeFileMissing",
    "builtin_recipe",
    "check_file",
    "check_text",
    "load_recipe",
    "recipe_from_text",
]
