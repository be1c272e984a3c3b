"""The recipe format as a JSON Schema (draft 2020-12), for editors and CI.

Why generated: the schema is written out from :mod:`deid.recipe.language`, the table ``deid
validate`` checks against, so an editor never marks red a recipe ``deid validate`` accepts.
Its errors carry no file:line and it cannot check VRs, regexes or cycles; ``deid validate``
does those (tests/recipe/test_recipe_schema.py holds the two to that contract).
"""

from __future__ import annotations

from typing import Any

from deid.recipe import language as lang


def recipe_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://deid.invalid/schema/recipe-1.json",
        "title": "deid recipe",
        "description": (
            "A de-identification recipe built on DICOM PS3.15 Annex E. See recipes/README.md."
        ),
        **to_schema(lang.RECIPE),
    }


def to_schema(node: lang.Node) -> dict[str, Any]:
    """The JSON Schema of one node of the language table."""
    if isinstance(node, lang.Text):
        return _text(node)
    if isinstance(node, lang.Integer):
        out: dict[str, Any] = {"type": "integer"}
        if node.minimum is not None:
            out["minimum"] = node.minimum
        if node.maximum is not None:
            out["maximum"] = node.maximum
        return out
    if isinstance(node, lang.Boolean):
        return {"type": "boolean"}
    if isinstance(node, lang.Const):
        return {"const": node.value}
    if isinstance(node, lang.Choice):
        return {"enum": list(node.values)}
    if isinstance(node, lang.Number):
        return {"type": ["string", "number"]}
    if isinstance(node, lang.ListOf):
        out = {"type": "array", "items": to_schema(node.item)}
        if node.min_items:
            out["minItems"] = node.min_items
        if node.unique:
            out["uniqueItems"] = True
        return out
    if isinstance(node, lang.Tuple):
        count = len(node.items)
        return {
            "type": "array",
            "prefixItems": [to_schema(item) for item in node.items],
            "minItems": count,
            "maxItems": count,
        }
    if isinstance(node, lang.Fields):
        return _fields(node)
    if isinstance(node, lang.MapOf):
        key = to_schema(node.key)
        key.pop("type", None)  # property names are always strings
        values = to_schema(node.value)
        return {"type": "object", "propertyNames": key, "additionalProperties": values}
    if isinstance(node, lang.OneOf):
        return {"anyOf": [to_schema(option) for option in node.options]}
    raise TypeError(f"no schema for {node!r}")


def _text(node: lang.Text) -> dict[str, Any]:
    text: dict[str, Any] = {"type": "string"}
    if node.min_length:
        text["minLength"] = node.min_length
    if node.max_length is not None:
        text["maxLength"] = node.max_length
    if node.pattern is not None:
        text["pattern"] = lang.full(node.pattern)
    other = (["number"] if node.numbers else []) + (["boolean"] if node.booleans else [])
    if not other:
        return text
    if len(text) == 1:
        return {"type": ["string", *other]}
    return {"anyOf": [text, {"type": other if len(other) > 1 else other[0]}]}


def _fields(node: lang.Fields) -> dict[str, Any]:
    properties = {}
    for name, child in node.fields.items():
        schema = to_schema(child)
        if name in node.nullable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        properties[name] = schema
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if node.required:
        out["required"] = list(node.required)
    conditions = []
    for rule in node.rules:
        when: dict[str, Any] = {
            "properties": {rule.key: {"enum": list(rule.values)}},
            "required": [rule.key],
        }
        if rule.negate:
            when = {"not": when}
        then = {"required": [rule.field]} if rule.present else {"not": {"required": [rule.field]}}
        conditions.append({"if": when, "then": then})
    if conditions:
        out["allOf"] = conditions
    return out
