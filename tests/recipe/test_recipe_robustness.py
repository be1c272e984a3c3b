"""Whatever a user writes, the checker answers with diagnostics, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.recipe import check_text
from deid.recipe.document import TOP_LEVEL_KEYS

ROOT = Path(__file__).resolve().parents[2]

_words = st.sampled_from(
    [
        "X",
        "K",
        "C",
        "U",
        "Z/D",
        "replace",
        "pseudonym",
        "PatientName",
        "(0010,0010)",
        "(60xx,3000)",
        '(0029,"A",10)',
        "(0029,1010)",
        "PN",
        "UI",
        "shift",
        "keep",
        "remap",
        "retain-uids",
        "clean-pixel-data",
        "basic",
        "env",
        "file",
        "-5",
        "yes",
        "",
        "*",
        "policy",
        "min",
        "max",
        "when",
        "boxes",
        "reason",
        "regex",
        "name",
        "(",
    ]
)
_scalars = st.one_of(_words, st.integers(-100000, 100000), st.booleans(), st.none())
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_words, inner, max_size=4)
    ),
    max_leaves=12,
)
_recipes = st.dictionaries(st.sampled_from([*TOP_LEVEL_KEYS, "bogus"]), _values, max_size=6).map(
    lambda d: {"deid-recipe": 1, **d}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_recipes)
def test_structured_garbage_gives_diagnostics_not_exceptions(document):
    text = yaml.safe_dump(document, sort_keys=False)
    composition = check_text(text, "fuzz.yaml", base_dir=ROOT / "recipes")
    assert (composition.recipe is None) == bool(composition.diagnostics)
    for diagnostic in composition.diagnostics:
        assert re.match(r"^\S+:\d+:\d+: \S", str(diagnostic))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_diagnostics_not_exceptions(text):
    composition = check_text(text, "fuzz.yaml")
    assert (composition.recipe is None) == bool(composition.diagnostics)


def test_the_readme_example_is_a_valid_recipe():
    readme = (ROOT / "recipes" / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", readme, re.S)[1]
    composition = check_text(example, "README.md", base_dir=ROOT / "recipes")
    assert composition.diagnostics == []
    assert composition.recipe.key_source == "env:STUDY42_KEY"


def test_empty_sections_are_allowed():
    composition = check_text("deid-recipe: 1\nattributes:\noptions:\n", "r.yaml")
    assert composition.diagnostics == []


def test_scalars_yaml_cannot_construct_give_diagnostics():
    """``=``, unknown tags and mistyped explicit tags are user text, never a traceback."""
    invalid = (
        "=\n",
        "!foo x\n",
        "deid-recipe: !!timestamp xyz\n",
        "deid-recipe: 1\npixels: {ocr: !!bool maybe}\n",
    )
    for text in invalid:
        composition = check_text(text, "tagged.yaml")
        assert composition.recipe is None and composition.diagnostics, text
    # An unknown tag on free text is just that text: nothing is constructed or imported.
    harmless = check_text("deid-recipe: 1\ndescription: !!python/name:os.system x\n", "t.yaml")
    assert harmless.recipe is not None
