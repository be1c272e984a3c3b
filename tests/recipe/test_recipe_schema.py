"""`deid schema` and `deid validate` read one table (deid/recipe/language.py) and agree.

The contract, checked on generated recipes (mostly well-formed, some parts wrong on purpose):
whatever ``deid validate`` accepts, the JSON Schema accepts; and whatever the schema accepts,
``deid validate`` finds no *shape* error in (only *meaning* errors: the attribute dictionary,
VR fit, regexes, files, contradictions, which no JSON Schema can see).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deid.recipe import check_text
from deid.recipe import language as lang
from deid.recipe.attributes import (
    AttributeSyntaxError,
    UnknownKeyword,
    parse_attribute,
    parse_creator,
)
from deid.recipe.schema import recipe_schema

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft202012Validator(recipe_schema())
SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# -- strategies -----------------------------------------------------------------------------
_ascii = st.characters(min_codepoint=32, max_codepoint=126)
_text = st.text(st.one_of(_ascii, st.sampled_from("\n\t\\\"'() ")), max_size=12)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(-1e3, 1e3), _text
)
junk = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=2)),
    max_leaves=4,
)


def _hex(digits: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789abcdefABCDEF"), min_size=digits, max_size=digits)


_group = st.one_of(
    st.sampled_from(
        [
            "0010",
            "0008",
            "6000",
            "5000",
            "0009",
            "0019",
            "0029",
            "0001",
            "0007",
            "FFFF",
            "ffff",
            "0000",
            "0002",
            "7fe0",
            "0011",
        ]
    ),
    _hex(4),
)
_ws = st.sampled_from(["", "", " ", "  "])
_creator = st.sampled_from(["ACME", "SIEMENS CSA HEADER", "", " ", "GEMS_ACQU_01", "a b", "é"])


@st.composite
def attribute_keys(draw: st.DrawFn) -> str:
    """Every spelling family the grammar has, with the near misses around each."""
    w = draw(_ws)
    form = draw(st.integers(0, 7))
    if form == 0:
        body = draw(
            st.one_of(
                st.sampled_from(["PatientName", "StudyDescription", "PatientNme", "Modality"]),
                st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True),
                st.from_regex(r"[0-9_][A-Za-z0-9]{0,5}", fullmatch=True),
            )
        )
    elif form == 1:
        body = f"({w}{draw(_group)}{w},{w}{draw(_hex(4))}{w})"
    elif form == 2:
        base = draw(st.sampled_from(["50", "60", "70", "5"]))
        xx = draw(st.sampled_from(["xx", "XX", "Xx", "x"]))
        element = draw(st.one_of(_hex(4), st.sampled_from(["xxxx", "XXXX", "xxx"])))
        body = f"({w}{base}{xx}{w},{w}{element}{w})"
    elif form == 3:
        block = draw(st.sampled_from(["", "xx", "XX", "x"]))
        element = draw(st.one_of(_hex(2), _hex(3)))
        body = f'({w}{draw(_group)}{w},{w}"{draw(_creator)}"{w},{w}{block}{element}{w})'
    elif form == 4:
        body = f'({draw(_group)},"{draw(_creator)}")'
    elif form == 5:
        body = draw(
            st.sampled_from(
                [
                    lang.PRIVATE_ROW,
                    "(GGGG,EEEE) where gggg is odd",
                    "(gggg,eeee)  where gggg is odd",
                ]
            )
        )
    elif form == 6:
        body = draw(st.sampled_from(["(60xx,3000)", "(60XX,3000)", "(50xx,xxxx)", "(6000,3000)"]))
    else:
        body = draw(_text)
    return draw(_ws) + body + draw(_ws)


def _choice(node: lang.Choice) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(node.values), st.sampled_from(node.values).map(str.upper))


def valid_ish(node: lang.Node, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``node``'s kind, near its limits, with some junk in their place."""
    kind = _of(node, depth)
    return st.one_of(*[kind] * 12, junk)  # junk one time in 13: most recipes get deep


def _of(node: lang.Node, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(node, lang.Text):
        if node is lang.KEY_NAME:
            return st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), _text)
        return st.one_of(_text, st.integers(-99, 99), st.booleans())
    if isinstance(node, lang.Integer):
        low, high = node.minimum or -5, node.maximum or 5
        return st.one_of(
            st.sampled_from([low, high, low - 1, high + 1, 0]),
            st.integers(low - 3, high + 3),
            st.sampled_from([float(low), 1.5, True]),
        )
    if isinstance(node, lang.Boolean):
        return st.one_of(st.booleans(), st.sampled_from(["yes", 1]))
    if isinstance(node, lang.Const):
        return st.sampled_from([node.value, node.value + 1, float(node.value), str(node.value)])
    if isinstance(node, lang.Choice):
        if len(node.values) > 20:  # VR names as keys, say
            return st.one_of(st.sampled_from(node.values), _text)
        return _choice(node)
    if isinstance(node, lang.Number):
        return st.one_of(_text, st.integers(-99, 99), st.floats(-9, 9), st.booleans())
    if isinstance(node, lang.ListOf):
        items = valid_ish(node.item, depth + 1)
        lists = st.lists(items, max_size=3)
        if node.unique:
            return st.one_of(lists, items.map(lambda item: [item, item]))
        return lists
    if isinstance(node, lang.Tuple):
        coordinates = st.one_of(*(_of(item, depth) for item in node.items))
        return st.lists(coordinates, min_size=3, max_size=5)
    if isinstance(node, lang.Fields):
        return st.fixed_dictionaries(
            {}, optional={name: valid_ish(child, depth + 1) for name, child in node.fields.items()}
        )
    if isinstance(node, lang.MapOf):
        if node.key is lang.SECTIONS["attributes"].key:  # type: ignore[union-attr]
            keys: st.SearchStrategy[str] = attribute_keys()
        elif isinstance(node.key, lang.Choice):
            keys = st.one_of(st.sampled_from(["PN", "UI", "DA", "LO", "SQ"]), _text)
        elif node.key.pattern == lang.KEYWORD:
            keys = st.one_of(st.sampled_from(["Modality", "Manufacturer", "Modalty"]), _text)
        else:  # private creators
            keys = st.one_of(attribute_keys(), st.sampled_from(["*", "ACME", " ", ""]), _text)
        return st.dictionaries(keys, valid_ish(node.value, depth + 1), max_size=3)
    if isinstance(node, lang.OneOf):
        return st.one_of(*(_of(option, depth) for option in node.options))
    raise TypeError(node)


def _sections() -> dict[str, st.SearchStrategy[Any]]:
    sections = {
        name: st.one_of(valid_ish(node), st.none())
        for name, node in lang.SECTIONS.items()
        if name != "deid-recipe"
    }
    sections["extends"] = st.sampled_from(["basic", ["research"], "basic.yaml", "", 5, None])
    sections["text-patterns"] = st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(st.sampled_from(["a", "b", ""]), _text),
                "regex": st.sampled_from([r"\d{3}", "(x", "", "a*", "ab"]),
                "replacement": st.sampled_from(["", "#", r"\1", "x"]),
            },
        ),
        max_size=2,
    )
    version = st.one_of(st.just(1), st.just(1), st.just(1), valid_ish(lang.SECTIONS["deid-recipe"]))
    sections["deid-recipe"] = version
    return sections


_SECTIONS = _sections()


@st.composite
def recipes(draw: st.DrawFn) -> dict[str, Any]:
    version = _SECTIONS["deid-recipe"]
    optional = {k: v for k, v in _SECTIONS.items() if k != "deid-recipe"}
    data = draw(st.fixed_dictionaries({"deid-recipe": version}, optional=optional))
    if draw(st.integers(0, 9)) == 0:  # sometimes a misspelt or misplaced top-level key
        data[draw(st.sampled_from(["option", "PatientName", "ocr", "PN"]))] = "X"
    if draw(st.integers(0, 19)) == 0:
        data.pop("deid-recipe")
    return data


def _validate(data: dict[str, Any], tmp: Path):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return check_text(text, "generated.yaml", tmp)


def _check_contract(data: dict[str, Any], tmp: Path) -> None:
    composition = _validate(data, tmp)
    schema_ok = VALIDATOR.is_valid(data)
    if composition.recipe is not None:
        errors = [e.message for e in VALIDATOR.iter_errors(data)]
        assert schema_ok, f"deid validate accepts, the schema rejects: {errors}"
    if schema_ok:
        shape = [str(d) for d in composition.diagnostics if d.kind != "meaning"]
        assert not shape, f"the schema accepts, deid validate finds shape errors: {shape}"


@settings(max_examples=300, **SETTINGS)
@given(data=recipes())
def test_validate_and_schema_agree_on_generated_recipes(data, tmp_path_factory):
    _check_contract(data, tmp_path_factory.getbasetemp())


@pytest.mark.slow
@settings(max_examples=5000, **SETTINGS)
@given(data=recipes())
def test_validate_and_schema_agree_at_length(data, tmp_path_factory):
    _check_contract(data, tmp_path_factory.getbasetemp())


@settings(max_examples=600, **SETTINGS)
@given(key=attribute_keys())
def test_attribute_key_grammar_is_the_parsers(key: str):
    """The schema's key pattern matches exactly the keys the parser reads (a keyword missing
    from the dictionary is well-formed: only validation knows the dictionary)."""
    in_schema = re.search(lang.full(lang.ATTRIBUTE_KEY), key) is not None
    try:
        parsed = parse_attribute(key).kind != "block"
    except UnknownKeyword:
        parsed = True
    except AttributeSyntaxError:
        parsed = False
    assert in_schema == parsed, (key, in_schema, parsed)


@settings(max_examples=600, **SETTINGS)
@given(key=st.one_of(attribute_keys(), st.sampled_from(["*", " * ", "ACME", " ", "", "(ACME"])))
def test_private_creator_key_grammar_is_the_parsers(key: str):
    in_schema = re.search(lang.full(lang.CREATOR_KEY), key) is not None
    try:
        parse_creator(key)
        parsed = True
    except AttributeSyntaxError:
        parsed = False
    assert in_schema == parsed, (key, in_schema, parsed)


@pytest.mark.parametrize(
    "key",
    [
        "(60XX,3000)",
        "(60xx,3000)",
        "(50xx,xxxx)",
        "(gggg,eeee) where gggg is odd",
        '(0029,"SIEMENS CSA HEADER",xx10)',
        '(0029,"CSA",XX10)',
        "PatientName",
        " (0010,0010) ",
    ],
)
def test_keys_validate_accepts_the_schema_accepts(key: str, tmp_path):
    data = {"deid-recipe": 1, "attributes": {key: "X"}}
    assert _validate(data, tmp_path).recipe is not None
    assert VALIDATOR.is_valid(data), key


@pytest.mark.parametrize(
    "data",
    [
        {"deid-recipe": 1, "key": {"from": "env"}},
        {"deid-recipe": 1, "key": {"from": "file", "path": ""}},
        {"deid-recipe": 1, "key": {"from": "env", "name": ""}},
        {"deid-recipe": 1, "dates": {"policy": "keep", "shift-days": {"min": -9, "max": -1}}},
        {"deid-recipe": 1, "attributes": {"PatientName": {"action": "replace"}}},
        {"deid-recipe": 1, "attributes": {"PatientName": {"action": "X", "value": "a"}}},
        {"deid-recipe": 1, "attributes": {"(0011,0010)": "X"}},
        {"deid-recipe": 1, "attributes": {'(0009,"",10)': "X"}},
        {"deid-recipe": 1, "private-creators": {'(0019,"")': "X"}},
        {"deid-recipe": 1, "private-creators": {"ACME": "U"}},
        {"deid-recipe": 1, "vr": {"PN": "pseudonym"}},
        {"deid-recipe": 1, "extends": ""},
        {"deid-recipe": 1, "text-patterns": [{"name": "", "regex": "x"}]},
        {"deid-recipe": 1, "pixels": {"allow-tokens": ["two words"]}},
        {"deid-recipe": 1, "exclude": [{"when": {}, "reason": "a\nb"}]},
        {"deid-recipe": 1, "pixels": {"margin": 101}},
    ],
    ids=lambda d: json.dumps(d)[15:60],
)
def test_shape_errors_both_reject(data, tmp_path):
    diagnostics = _validate(data, tmp_path).diagnostics
    assert diagnostics and all(d.kind == "shape" for d in diagnostics), diagnostics
    assert not VALIDATOR.is_valid(data)


def test_meaning_errors_are_the_validators_alone(tmp_path):
    data = {"deid-recipe": 1, "attributes": {"PatientNme": "X", "StudyDate": "U"}}
    diagnostics = _validate(data, tmp_path).diagnostics
    assert [d.kind for d in diagnostics] == ["meaning", "meaning"]
    assert VALIDATOR.is_valid(data)


def test_schema_is_generated_from_the_table():
    """The printed schema is the table's, and it is a valid draft 2020-12 schema."""
    jsonschema.Draft202012Validator.check_schema(recipe_schema())
    printed = subprocess.run(
        [sys.executable, "-m", "deid", "schema"], capture_output=True, text=True, cwd=ROOT
    )
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    assert list(schema["properties"]) == list(lang.TOP_LEVEL_KEYS)
    pattern = schema["properties"]["attributes"]["anyOf"][0]["propertyNames"]["pattern"]
    assert pattern == lang.full(lang.ATTRIBUTE_KEY)


def test_validate_json_names_the_kind(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("deid-recipe: 1\nattributes:\n  PatientNme: X\n  (0011,0010): X\n")
    out = subprocess.run(
        [sys.executable, "-m", "deid", "validate", "--format", "json", str(recipe)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1
    errors = json.loads(out.stdout)["recipes"][0]["errors"]
    assert [(e["line"], e["kind"]) for e in errors] == [(3, "meaning"), (4, "shape")]
