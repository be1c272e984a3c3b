"""The recipe format as a JSON Schema (draft 2020-12), for editors and CI.

Why both a schema and :mod:`deid.recipe.document`: editors and generic tools understand JSON
Schema, but its errors carry no file:line and cannot check VRs, regexes or cycles; ``deid
validate`` does those. The tests keep the two in step: every shipped recipe passes both.
"""

from __future__ import annotations

from typing import Any

from deid.recipe.document import FORMAT_VERSION, KEY_SOURCES, PROFILES, VR_NAMES
from deid.recipe.model import ALL_ACTIONS, OPTIONS

_ATTRIBUTE_KEY = (
    r"^(?:[A-Za-z][A-Za-z0-9]*"
    r"|\(\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\)"
    r"|\(\s*(?:50|60)xx\s*,\s*(?:[0-9A-Fa-f]{4}|xxxx)\s*\)"
    r'|\(\s*[0-9A-Fa-f]{4}\s*,\s*"[^"]+"\s*,\s*(?:xx)?[0-9A-Fa-f]{2}\s*\))$'
)


def recipe_schema() -> dict[str, Any]:
    action = {"enum": list(ALL_ACTIONS)}
    rule = {
        "oneOf": [
            action,
            {
                "type": "object",
                "properties": {
                    "action": action,
                    "value": {"type": ["string", "number"]},
                    "reason": {"type": "string"},
                },
                "required": ["action"],
                "additionalProperties": False,
            },
        ]
    }
    condition = {
        "type": "object",
        "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9]*$"},
        "additionalProperties": {
            "oneOf": [
                {"type": ["string", "number", "boolean"]},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": ["string", "number", "boolean"]},
                },
            ]
        },
    }
    box = {
        "type": "array",
        "prefixItems": [
            {"type": "integer", "minimum": 0, "maximum": 65534},
            {"type": "integer", "minimum": 0, "maximum": 65534},
            {"type": "integer", "minimum": 1, "maximum": 65535},
            {"type": "integer", "minimum": 1, "maximum": 65535},
        ],
        "minItems": 4,
        "maxItems": 4,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://deid.invalid/schema/recipe-1.json",
        "title": "deid recipe",
        "description": (
            "A de-identification recipe built on DICOM PS3.15 Annex E. See recipes/README.md."
        ),
        "type": "object",
        "required": ["deid-recipe"],
        "additionalProperties": False,
        "properties": {
            "deid-recipe": {"const": FORMAT_VERSION},
            "description": {"type": "string"},
            "extends": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}},
                ]
            },
            "profile": {"enum": list(PROFILES)},
            "options": {"type": "array", "uniqueItems": True, "items": {"enum": list(OPTIONS)}},
            "key": {
                "type": "object",
                "properties": {
                    "from": {"enum": list(KEY_SOURCES)},
                    "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                    "path": {"type": "string"},
                },
                "required": ["from"],
                "additionalProperties": False,
            },
            "uids": {
                "type": "object",
                "properties": {"policy": {"enum": ["remap", "keep"]}},
                "additionalProperties": False,
            },
            "dates": {
                "type": "object",
                "properties": {
                    "policy": {"enum": ["remove", "keep", "shift"]},
                    "shift-days": {
                        "type": "object",
                        "properties": {
                            "min": {"type": "integer", "minimum": -36500, "maximum": 36500},
                            "max": {"type": "integer", "minimum": -36500, "maximum": 36500},
                        },
                        "required": ["min", "max"],
                        "additionalProperties": False,
                    },
                },
                "required": ["policy"],
                "additionalProperties": False,
            },
            "patient": {
                "type": "object",
                "properties": {
                    "id-prefix": {"type": "string", "maxLength": 32},
                    "name": {"enum": ["pseudonym", "empty"]},
                },
                "additionalProperties": False,
            },
            "attributes": {
                "type": "object",
                "propertyNames": {"pattern": _ATTRIBUTE_KEY},
                "additionalProperties": rule,
            },
            "private-creators": {
                "type": "object",
                "propertyNames": {"minLength": 1},
                "additionalProperties": rule,
            },
            "vr": {
                "type": "object",
                "propertyNames": {"enum": list(VR_NAMES)},
                "additionalProperties": rule,
            },
            "text-patterns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "regex": {"type": "string", "minLength": 1},
                        "replacement": {"type": "string"},
                    },
                    "required": ["name", "regex"],
                    "additionalProperties": False,
                },
            },
            "pixels": {
                "type": "object",
                "properties": {
                    "clean": {"type": "array", "items": condition},
                    "ocr": {"type": "boolean"},
                    "allow-tokens": {"type": "array", "items": {"type": ["string", "number"]}},
                    "margin": {"type": "integer", "minimum": 0, "maximum": 100},
                    "regions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "when": condition,
                                "boxes": {"type": "array", "minItems": 1, "items": box},
                            },
                            "required": ["when", "boxes"],
                            "additionalProperties": False,
                        },
                    },
                    "burned-in-unmatched": {"enum": ["quarantine", "keep"]},
                    "overlays": {"enum": ["remove", "scan"]},
                },
                "additionalProperties": False,
            },
            "exclude": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"when": condition, "reason": {"type": "string", "minLength": 1}},
                    "required": ["when", "reason"],
                    "additionalProperties": False,
                },
            },
        },
    }
