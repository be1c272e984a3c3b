"""``deid explain`` names the file:line that decided each attribute."""

from __future__ import annotations

import json

from deid.recipe import load_recipe
from deid.recipe.explain import explain_attribute, explain_recipe


def _line_of(path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_explain_attribute_names_the_deciding_recipe_line(write):
    path = write(
        "mine.yaml",
        "deid-recipe: 1\nextends: basic\nattributes:\n"
        "  StudyDescription: {action: replace, value: STUDY}\n",
    )
    result = explain_attribute(load_recipe(path), "StudyDescription")
    assert result["effective"]["action"] == "replace"
    assert result["effective"]["value"] == "STUDY"
    assert result["effective"]["where"].endswith("mine.yaml:4")
    assert result["table_action"] == "X"
    assert result["overrides"][0]["where"].startswith("profiles/basic.yaml:")


def test_explain_table_row_points_at_the_profile_line(root):
    recipe = load_recipe(root / "recipes" / "research.yaml")
    report = explain_recipe(recipe)
    assert len(report["attributes"]) == 657
    by_tag = {row["tag"]: row for row in report["attributes"]}
    sex = by_tag["(0010,0040)"]
    line = _line_of(root / "profiles" / "retain-patient-characteristics.yaml", '"(0010,0040)"')
    assert sex["action"] == "K"
    assert sex["where"] == f"profiles/retain-patient-characteristics.yaml:{line}"
    name = by_tag["(0010,0010)"]
    assert name["action"] == "pseudonym"
    assert (
        name["where"]
        == f"recipes/basic.yaml:{_line_of(root / 'recipes/basic.yaml', 'PatientName:')}"
    )
    assert report["dates"] == {"policy": "shift", "shift_days": [-3650, -365]}
    assert report["safety_net"]["PN"] == "X" and report["safety_net"]["UI"] == "U"
    assert {c["value"] for c in report["method_codes"]} >= {"113100", "113101", "113107"}


def test_explain_unlisted_keyword_shows_the_safety_net(root):
    result = explain_attribute(load_recipe(root / "recipes/basic.yaml"), "Manufacturer")
    assert not result["in_table"]
    assert result["effective"]["layer"] == "safety-net"
    assert result["effective"]["via"] == "vr LO" and result["effective"]["action"] == "C"


def test_explain_private_attribute(root):
    recipe = load_recipe(root / "recipes/research.yaml")
    safe = explain_attribute(recipe, '(7053,"Philips PET Private Group",xx00)')
    assert safe["effective"]["action"] == "K" and safe["safe_private"]
    assert safe["effective"]["where"].startswith("profiles/retain-safe-private.yaml:")
    other = explain_attribute(recipe, '(0029,"SIEMENS CSA HEADER",10)')
    assert other["effective"]["action"] == "X" and other["effective"]["via"] == "private default"


def test_explain_cli_text_and_json(run_deid):
    text = run_deid("explain", "recipes/research.yaml", "--attribute", "PatientName")
    assert text.returncode == 0
    assert "decided by recipe recipes/basic.yaml (recipes/basic.yaml:" in text.stdout
    assert "overrides Z from profile basic (profiles/basic.yaml:" in text.stdout
    whole = run_deid("explain", "recipes/retain-uids.yaml", "--format", "json")
    report = json.loads(whole.stdout)
    uid = next(r for r in report["attributes"] if r["tag"] == "(0020,000D)")
    assert uid["action"] == "K" and uid["where"].startswith("profiles/retain-uids.yaml:")
    table = run_deid("explain", "recipes/basic.yaml")
    assert "(0010,0010)" in table.stdout and "safety net" in table.stdout


def test_explain_cli_bad_attribute_is_one_line(run_deid):
    result = run_deid("explain", "recipes/basic.yaml", "--attribute", "PatientNam")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'deid: --attribute: unknown attribute keyword "PatientNam" (did you mean "PatientName"?)'
    ]


def test_explain_decides_as_the_engine_lookup_does(root, write):
    """``explain`` walks layers itself (to show overrides); its decision must be the engine's."""
    from deid.recipe.attributes import parse_attribute
    from deid.recipe.explain import trace
    from deid.recipe.model import PrivateKey

    path = write(
        "mine.yaml",
        "deid-recipe: 1\nextends: research\nattributes:\n  (6002,3000): K\n"
        '  (0029,"ACME",10): K\nprivate-creators:\n  ACME: X\n  (0031,"ACME"): K\n',
    )
    recipe = load_recipe(path)
    for text in ("PatientName", "(6002,3000)", "(6004,3000)", "(5000,0010)", "Manufacturer"):
        ref = parse_attribute(text)
        vr = ref.vrs[0] if ref.vrs else ""
        tag = ref.tag if ref.tag is not None else (ref.repeating[0] << 16) | ref.repeating[1]
        assert trace(recipe, ref)[0].rule is recipe.rule_for(tag, vr), text
    for key in (
        PrivateKey(0x29, "ACME", 0x10),
        PrivateKey(0x29, "ACME", 0x11),
        PrivateKey(0x31, "ACME", 0x11),
        PrivateKey(0x7053, "Philips PET Private Group", 0x00),
        PrivateKey(0x29, "SIEMENS CSA HEADER", 0x10),
    ):
        ref = parse_attribute(str(key))
        assert trace(recipe, ref)[0].rule is recipe.rule_for_private(key, "LO"), str(key)
