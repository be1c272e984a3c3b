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
    resolve_recipe,
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

    A bare built-in name (``research``) always means the shipped recipe of that name, even
    when the current folder holds a file or folder called ``research`` (see
    :func:`deid.recipe.compose.resolve_recipe`); a :class:`~pathlib.Path` is always a path."""
    if isinstance(path, Path):
        file = path if path.exists() else builtin_path(str(path)) or path
    else:
        file = resolve_recipe(path, Path.cwd())
    if not file.is_file():
        shown = display_path(file)
        reason = "is a directory" if file.is_dir() else "no such file"
        raise RecipeFileMissing(f"{shown}: cannot read recipe: {reason}{_builtin_hint(file)}")
    doc, problems = read_document(file)
    return compose(doc, problems, file.stem)


def _builtin_hint(file: Path) -> str:
    stem = file.name.removesuffix(".yaml").removesuffix(".yml")
    if stem in BUILTIN_RECIPES:
        return f' (the built-in recipe is named "{stem}", without a path)'
    return f"; built-in recipes are {', '.join(BUILTIN_RECIPES)}" if not file.suffix else ""


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
