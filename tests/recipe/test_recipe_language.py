"""The recipe language, section by section, through ``recipe_from_text``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from deid.errors import RecipeError
from deid.recipe import check_text, recipe_from_text

T = tag_for_keyword


def _errors(text: str) -> list[str]:
    return [f"{d.line}: {d.message}" for d in check_text(text, "r.yaml").diagnostics]


def test_errors_name_the_text_and_position():
    with pytest.raises(RecipeError) as caught:
        recipe_from_text("deid-recipe: 1\nattributes:\n  Foo: X\n", name="inline.yaml")
    assert str(caught.value).startswith("inline.yaml:3:3: unknown attribute keyword")
    assert caught.value.diagnostics[0].line == 3


def test_all_errors_are_reported_not_only_the_first():
    errors = _errors("deid-recipe: 1\nattributes:\n  Foo: X\n  Bar: X\nvr:\n  PN: U\nbogus: 1\n")
    assert [e.split(":")[0] for e in errors] == ["3", "4", "6", "7"]


def test_replace_values_are_checked_against_the_vr():
    ok = recipe_from_text(
        "deid-recipe: 1\nattributes:\n"
        "  InstitutionName: {action: replace, value: ANONYMIZED}\n"
        "  PatientWeight: {action: replace, value: 70}\n"
        "  StudyDate: {action: D, value: '20000101'}\n"
    )
    assert ok.rule_for(T("InstitutionName"), "LO").value == "ANONYMIZED"
    assert ok.rule_for(T("PatientWeight"), "DS").value == "70"
    assert ok.rule_for(T("StudyDate"), "DA").value == "20000101"
    errors = _errors(
        "deid-recipe: 1\nattributes:\n"
        "  InstitutionName: {action: replace, value: '" + "x" * 70 + "'}\n"
        "  Rows: {action: replace, value: many}\n"
        "  PatientName: {action: X, value: A}\n"
    )
    assert "exceeds the maximum length of 64" in errors[0]
    assert errors[1].startswith("4: value 'many' is not valid for Rows (0028,0010) (US)")
    assert errors[2].startswith("5: a value only goes with action replace or D")


def test_vr_section_rules():
    recipe = recipe_from_text("deid-recipe: 1\nvr:\n  PN: K\n  UI: U\n")
    assert recipe.layers[-1].vr["PN"].action == "K"
    assert _errors("deid-recipe: 1\nvr:\n  LO: U\n")[0].startswith("3: action U (replace UID)")
    assert "pseudonym" in _errors("deid-recipe: 1\nvr:\n  PN: pseudonym\n")[0]


def test_key_sources(tmp_path: Path):
    env = recipe_from_text("deid-recipe: 1\nkey: {from: env, name: MY_KEY}\n")
    assert env.key_source == "env:MY_KEY"
    file = recipe_from_text("deid-recipe: 1\nkey: {from: file, path: k.txt}\n", base_dir=tmp_path)
    assert file.key_source == f"file:{tmp_path / 'k.txt'}"
    assert recipe_from_text("deid-recipe: 1\n").key_source == "ledger"
    assert (
        "not an environment variable"
        in _errors("deid-recipe: 1\nkey: {from: env, name: 'a b'}\n")[0]
    )


def test_text_patterns_compile_and_later_file_redefines(write):
    base = write(
        "base.yaml", "deid-recipe: 1\ntext-patterns:\n  - {name: phone, regex: '\\d{9}'}\n"
    )
    recipe = recipe_from_text(
        "deid-recipe: 1\nextends: base.yaml\ntext-patterns:\n"
        "  - {name: phone, regex: '\\d{10}', replacement: '[PHONE]'}\n"
        "  - {name: email, regex: '\\S+@\\S+'}\n",
        base_dir=base.parent,
    )
    patterns = {p.name: p for p in recipe.text_patterns}
    assert set(patterns) == {"phone", "email"}
    assert (
        patterns["phone"].regex.pattern == "\\d{10}" and patterns["phone"].replacement == "[PHONE]"
    )
    assert (
        "matches empty text"
        in _errors("deid-recipe: 1\ntext-patterns:\n  - {name: e, regex: 'x*'}\n")[0]
    )


def test_pixel_settings_and_conditions():
    recipe = recipe_from_text(
        "deid-recipe: 1\noptions: [clean-pixel-data]\npixels:\n"
        "  clean: [{Modality: [US, XA]}, {BurnedInAnnotation: YES}]\n"
        "  ocr: false\n  margin: 5\n  allow-tokens: [L, R, 5]\n"
        "  regions:\n    - when: {Manufacturer: 'ACME*', ManufacturerModelName: Sono 5}\n"
        "      boxes: [[0, 0, 640, 40], [0, 440, 100, 40]]\n"
        "  burned-in-unmatched: keep\n  overlays: scan\n"
    )
    pixels = recipe.pixels
    assert pixels.enabled and not pixels.ocr and pixels.margin == 5
    assert pixels.allow_tokens == ("L", "R", "5")
    assert pixels.burned_in_unmatched == "keep" and pixels.overlays == "scan"
    ds = Dataset()
    ds.Modality = "XA"
    assert pixels.clean_when[0].matches(ds)
    ds2 = Dataset()
    ds2.BurnedInAnnotation = "YES"  # written unquoted: YES stays the text YES
    assert pixels.clean_when[1].matches(ds2)
    device = Dataset()
    device.Manufacturer = "ACME Medical"
    device.ManufacturerModelName = "SONO 5"
    assert pixels.regions[0].when.matches(device)
    assert pixels.regions[0].boxes == ((0, 0, 640, 40), (0, 440, 100, 40))
    off = recipe_from_text("deid-recipe: 1\npixels:\n  ocr: true\n")
    assert not off.pixels.enabled


def test_exclude_rules():
    recipe = recipe_from_text(
        "deid-recipe: 1\nexclude:\n  - when: {Modality: SR}\n    reason: structured reports\n"
    )
    ds = Dataset()
    ds.Modality = "SR"
    assert recipe.excluded_by(ds).reason == "structured reports"
    ds.Modality = "CT"
    assert recipe.excluded_by(ds) is None


def test_patient_policy_and_policies_implying_options():
    recipe = recipe_from_text(
        "deid-recipe: 1\npatient: {id-prefix: 'P-', name: empty}\nuids: {policy: keep}\n"
        "dates: {policy: shift, shift-days: {min: -30, max: -1}}\n"
    )
    assert recipe.patient.id_prefix == "P-" and recipe.patient.name == "empty"
    assert recipe.uids.mode == "keep" and "retain-uids" in recipe.options
    assert (recipe.dates.min_days, recipe.dates.max_days) == (-30, -1)
    assert "retain-longitudinal-modified-dates" in recipe.options
    assert [c for c, _m in recipe.method_codes()] == ["113100", "113107", "113110"]


def test_options_imply_policies():
    full = recipe_from_text("deid-recipe: 1\noptions: [retain-longitudinal-full-dates]\n")
    assert full.dates.mode == "keep"
    assert (
        "contradicts"
        in _errors(
            "deid-recipe: 1\noptions: [retain-longitudinal-full-dates]\ndates: {policy: remove}\n"
        )[0]
    )


def test_private_creator_section_checks():
    errors = _errors('deid-recipe: 1\nprivate-creators:\n  (0028,"X"): X\n  "ACME": U\n')
    assert "group 0028 is even" in errors[0]
    assert "cannot apply to a whole private block" in errors[1]


def test_recipe_from_text_extends_relative_to_base_dir(write):
    base = write("sub/base.yaml", "deid-recipe: 1\noptions: [retain-uids]\n")
    recipe = recipe_from_text("deid-recipe: 1\nextends: base.yaml\n", base_dir=base.parent)
    assert recipe.options == ("retain-uids",)
    with pytest.raises(RecipeError, match="no such recipe file"):
        recipe_from_text("deid-recipe: 1\nextends: base.yaml\n", base_dir=base.parent.parent)


def test_not_a_mapping_and_empty_text():
    assert _errors("- a\n- b\n")[0].startswith("1: a recipe must be a mapping")
    assert _errors("")[0].startswith("1: empty recipe")


def test_key_material_in_env_name_is_refused():
    errors = _errors("deid-recipe: 1\nkey: {from: env, name: 3f1e9a0c77d2b5e8a1c4f6d9b2e7a0c3d}\n")
    assert errors[0].startswith("2: literal key material")
    assert (
        _errors("deid-recipe: 1\nkey: {from: env, name: DEID_KEY_FOR_THE_CARDIAC_STUDY_2026}\n")
        == []
    )


def test_errors_in_an_extended_file_name_that_file(write):
    base = write("base.yaml", "deid-recipe: 1\nattributes:\n  PatientNme: X\n")
    composition = check_text("deid-recipe: 1\nextends: base.yaml\n", "top.yaml", base.parent)
    assert [(Path(d.path).name, d.line) for d in composition.diagnostics] == [("base.yaml", 3)]


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("PatientName: X", "attributes"),
        ("(0010,0010): X", "attributes"),
        ('(0029,"CSA",10): X', "attributes"),
        ("(60xx,3000): X", "attributes"),
        ("PN: X", "vr"),
        ("ocr: false", "pixels"),
        ("shift-days: {min: -9, max: -1}", "dates"),
    ],
)
def test_a_rule_at_the_top_level_says_which_section_it_belongs_in(line, section):
    errors = _errors(f"deid-recipe: 1\n{line}\n")
    assert len(errors) == 1
    assert f"did you mean to put it under {section}:?" in errors[0]
    assert errors[0].startswith("2: ")


def test_an_unknown_keyword_at_the_top_level_gets_the_nearest_section_name():
    assert 'did you mean "options"' in _errors("deid-recipe: 1\noption: [retain-uids]\n")[0]
