"""The recipes deid ships validate, match the JSON Schema, and say what their headers promise."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from pydicom.datadict import tag_for_keyword

from deid.recipe import BUILTIN_RECIPES, builtin_recipe, check_file
from deid.recipe.schema import recipe_schema
from deid.resources import recipes_dir

SHIPPED = sorted(recipes_dir().glob("*.yaml"))


def test_the_three_builtin_recipes_are_shipped():
    assert {p.stem for p in SHIPPED} >= set(BUILTIN_RECIPES)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_recipe_validates(path: Path):
    composition = check_file(path)
    assert composition.diagnostics == []
    assert composition.recipe is not None


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_recipe_matches_the_json_schema(path: Path):
    jsonschema.Draft202012Validator.check_schema(recipe_schema())
    jsonschema.Draft202012Validator(recipe_schema()).validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_recipe_has_a_header_saying_when_to_use_it(path: Path):
    head = path.read_text().splitlines()[:4]
    assert head[0].startswith(f"# {path.name}:")
    assert any("Use it when" in line for line in head)


def test_schema_rejects_what_validation_rejects():
    validator = jsonschema.Draft202012Validator(recipe_schema())
    assert not validator.is_valid({"deid-recipe": 1, "option": ["retain-uids"]})
    assert not validator.is_valid({"deid-recipe": 1, "options": ["retain-uid"]})
    assert not validator.is_valid({"deid-recipe": 1, "attributes": {"(0010,10G0)": "X"}})
    assert not validator.is_valid({"deid-recipe": 1, "key": "secret"})
    assert validator.is_valid({"deid-recipe": 1, "attributes": {'(0029,"CSA",10)': "X"}})


def test_basic_is_the_profile_alone():
    recipe = builtin_recipe("basic")
    assert recipe.options == ()
    assert recipe.dates.mode == "remove" and recipe.uids.mode == "remap"
    assert [code for code, _meaning in recipe.method_codes()] == ["113100"]
    assert recipe.rule_for(tag_for_keyword("PatientID"), "LO").action == "pseudonym"
    assert recipe.rule_for(tag_for_keyword("PatientName"), "PN").action == "pseudonym"
    assert recipe.rule_for(tag_for_keyword("StudyDate"), "DA").action == "Z"
    assert recipe.pixels.enabled is False


def test_research_has_the_promised_options_and_pixel_settings():
    recipe = builtin_recipe("research")
    assert set(recipe.options) == {
        "retain-longitudinal-modified-dates",
        "retain-patient-characteristics",
        "retain-device-identity",
        "retain-safe-private",
        "clean-descriptors",
        "clean-structured-content",
        "clean-graphics",
        "clean-pixel-data",
    }
    assert recipe.dates.mode == "shift"
    assert recipe.dates.min_days <= recipe.dates.max_days < 0
    assert recipe.pixels.enabled and recipe.pixels.ocr
    assert len(recipe.safe_private) == 479

    # Every image is screened for burned-in text, whatever its modality or Burned In
    # Annotation says (CT/MR screen captures, CR/DX labels carry text too).
    from pydicom import Dataset

    from deid.pixels.clean import selected_for_cleaning

    for modality in ("US", "SC", "XA", "ES", "CT", "MR", "CR", "DX", "NM", "OT"):
        for burned_in in ("YES", "NO", None):
            header = Dataset()
            header.Modality = modality
            if burned_in is not None:
                header.BurnedInAnnotation = burned_in
            assert selected_for_cleaning(header, recipe.pixels), (modality, burned_in)
    assert "113101" in [code for code, _m in recipe.method_codes()]


def test_retain_uids_keeps_uids():
    recipe = builtin_recipe("retain-uids")
    assert recipe.options == ("retain-uids",)
    assert recipe.uids.mode == "keep"
    assert recipe.rule_for(tag_for_keyword("StudyInstanceUID"), "UI").action == "K"
    assert recipe.rule_for(tag_for_keyword("SOPInstanceUID"), "UI").action == "K"


def test_builtin_recipe_refuses_unknown_names():
    from deid.errors import RecipeError

    with pytest.raises(RecipeError, match="built-in recipes are basic, research, retain-uids"):
        builtin_recipe("nope")


def test_digest_covers_profiles_and_recipes():
    basic, research = builtin_recipe("basic"), builtin_recipe("research")
    assert basic.digest != research.digest and len(basic.digest) == 64
    assert builtin_recipe("basic").digest == basic.digest
    assert any("profiles/basic.yaml" in f for f in research.source_files)
    assert any("recipes/research.yaml" in f for f in research.source_files)


def test_load_recipe_accepts_a_builtin_name(tmp_path, monkeypatch):
    from deid.recipe import load_recipe

    monkeypatch.chdir(tmp_path)
    assert load_recipe("research").options == builtin_recipe("research").options
    (tmp_path / "research").write_text("deid-recipe: 1\n")  # a local file does not shadow it
    assert load_recipe("research").options == builtin_recipe("research").options
    assert load_recipe("./research").options == ()  # a path reads the local file


def test_a_folder_named_like_a_builtin_does_not_shadow_it(tmp_path, monkeypatch, capsys):
    """`./research/` (say, the export) next to `deid validate research`: the shipped recipe."""
    from deid.cli import main
    from deid.recipe import load_recipe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "research").mkdir()
    (tmp_path / "basic.yaml").mkdir()
    assert main(["validate", "research"]) == 0
    assert "research: valid" in capsys.readouterr().out
    assert main(["validate", "./research"]) == 2
    assert "research: cannot read recipe: is a directory" in capsys.readouterr().err
    assert main(["validate", "basic.yaml"]) == 2  # a path, and it is a folder
    assert 'the built-in recipe is named "basic"' in capsys.readouterr().err
    mine = tmp_path / "mine.yaml"
    mine.write_text("deid-recipe: 1\nextends: research\n")  # extends follows the same rule
    assert load_recipe(mine).options == builtin_recipe("research").options


def test_a_name_that_is_not_a_recipe_names_the_builtins(tmp_path, monkeypatch, capsys):
    from deid.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["validate", "reserach"]) == 2
    err = capsys.readouterr().err
    assert "no such file; built-in recipes are basic, research, retain-uids" in err
