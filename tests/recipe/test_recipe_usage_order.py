"""A new user's first recipe has several mistakes: they come top to bottom, and the one
``deid run`` names is the first in the file."""

from __future__ import annotations

import pytest

from deid.errors import RecipeError
from deid.recipe import load_recipe

FIRST_RECIPE = (
    "deid-recipe: 1\n"
    "extends: reserach\n"  # line 2: a typo in the base recipe's name
    "attributes:\n"
    "  PatientNme: X\n"  # line 4: a typo in a keyword
    "  InstitutionName: {action: replace, value: SITE-07}\n"
)


def test_validate_lists_problems_in_file_order(run_deid, write, tmp_path):
    """The extends problem (line 2) used to come after the keyword problem (line 4)."""
    path = write("my-study.yaml", FIRST_RECIPE)
    result = run_deid("validate", str(path), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "4"], lines
    assert 'extends "reserach"' in lines[0] and '"PatientNme"' in lines[1]


def test_run_names_the_first_problem_of_the_file(write, monkeypatch, tmp_path):
    write("my-study.yaml", FIRST_RECIPE)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecipeError) as error:
        load_recipe("my-study.yaml")
    message = str(error.value)
    assert message.startswith('my-study.yaml:2:10: extends "reserach"'), message
    assert message.endswith("(and 1 more; run deid validate)")
