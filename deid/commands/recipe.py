"""``deid validate``, ``deid explain`` and ``deid schema``: the recipe commands.

Why they exist: a recipe decides what leaves the institution, so its author must be able to
check it (every error, ``file:line:column``, with the fix), see what it will do to each
attribute and why, and hand editors a schema.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from deid.errors import UserError

# The recipe modules (and pydicom behind them, about 0.4 s) are imported by the handlers,
# not here: every ``deid`` command builds this parser, ``deid --help`` included.


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check recipes; print every problem as file:line:column: message",
        description="Check recipe files. Exit 0 if all are valid, 1 if any is invalid, "
        "2 on a usage error (e.g. a missing file).",
    )
    validate.add_argument("recipes", nargs="+", metavar="RECIPE", help="recipe YAML file(s)")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.set_defaults(func=run_validate)

    explain = subparsers.add_parser(
        "explain",
        help="show the effective action for every attribute and which file:line decided it",
    )
    explain.add_argument("recipe", metavar="RECIPE", help="recipe YAML file")
    explain.add_argument(
        "--attribute",
        metavar="KEYWORD|TAG",
        help='one attribute: PatientName, (0010,0010), (60xx,3000) or (0029,"CREATOR",10)',
    )
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.set_defaults(func=run_explain)

    schema = subparsers.add_parser("schema", help="print the recipe JSON Schema (draft 2020-12)")
    schema.set_defaults(func=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    from deid.recipe.loader import RecipeFileMissing, check_file

    results = []
    usage_errors = []
    for path in args.recipes:
        try:
            composition = check_file(path)
        except RecipeFileMissing as error:
            usage_errors.append(str(error))
            continue
        results.append(
            {
                "path": path,
                "valid": composition.recipe is not None,
                "errors": [d.as_dict() | {"text": str(d)} for d in composition.diagnostics],
            }
        )
    if args.format == "json":
        _emit(json.dumps({"recipes": results, "usage_errors": usage_errors}, indent=2))
    else:
        lines = []
        for result in results:
            lines += [error["text"] for error in result["errors"]]
            if result["valid"]:
                lines.append(f"{result['path']}: valid")
        if lines:
            _emit("\n".join(lines))
        for message in usage_errors:
            print(f"deid: {message}", file=sys.stderr)
    if usage_errors:
        return 2
    return 0 if all(r["valid"] for r in results) else 1


def run_explain(args: argparse.Namespace) -> int:
    from deid.recipe.attributes import AttributeSyntaxError
    from deid.recipe.explain import (
        explain_attribute,
        explain_recipe,
        render_attribute_text,
        render_text,
    )
    from deid.recipe.loader import load_recipe

    recipe = load_recipe(args.recipe)
    if args.attribute:
        try:
            report = explain_attribute(recipe, args.attribute)
        except AttributeSyntaxError as error:
            raise UserError(f"--attribute: {error}") from None
        text = render_attribute_text(report)
    else:
        report = explain_recipe(recipe)
        text = render_text(report)
    _emit(json.dumps(report, indent=2) if args.format == "json" else text)
    return 0


def run_schema(_args: argparse.Namespace) -> int:
    from deid.recipe.schema import recipe_schema

    _emit(json.dumps(recipe_schema(), indent=2))
    return 0


def _emit(text: str) -> None:
    """Print ``text``; a reader that stops early (``| head``) is not an error."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
