"""Check one recipe file and turn it into a :class:`RecipeDocument` (no ``extends`` yet).

Why node by node: every error must be reported as ``file:line:column: message`` and all of
them at once (``deid validate``), so each value is read from its YAML node with its position,
checked, and either kept or reported. Composition across ``extends`` and the checks that need
the whole stack (policies against options) live in :mod:`deid.recipe.compose`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydicom import config as pydicom_config
from pydicom.valuerep import validate_value

from deid.recipe import language as lang
from deid.recipe.attributes import (
    AttributeSyntaxError,
    UnknownKeyword,
    parse_attribute,
    parse_creator,
    place_rule,
    suggest,
)
from deid.recipe.language import (
    FORMAT_VERSION,
    KEY_SOURCES,
    MAX_PIXELS,
    MAX_SHIFT_DAYS,
    PROFILES,
    TOP_LEVEL_KEYS,
    VR_NAMES,
)
from deid.recipe.model import (
    ALL_ACTIONS,
    OPTIONS,
    Condition,
    ExcludeRule,
    Origin,
    PixelRegionRule,
    Rule,
    RuleLayer,
    TextPattern,
)
from deid.recipe.yamlsrc import Diagnostic, DiagnosticKind, kind, load_node, pos, value

__all__ = [
    "FORMAT_VERSION",
    "KEY_SOURCES",
    "MAX_PIXELS",
    "MAX_SHIFT_DAYS",
    "PROFILES",
    "TOP_LEVEL_KEYS",
    "VR_NAMES",
    "Located",
    "RecipeDocument",
    "parse_document",
]

#: VRs a pseudonym (text derived from the keyed Patient ID digest) can be written into.
PSEUDONYM_VRS = ("PN", "LO", "SH")
NUMERIC_VRS = ("US", "SS", "UL", "SL", "FL", "FD", "UV", "SV")
PIXEL_KEYS = lang.PIXELS.keys
SHAPE: DiagnosticKind = "shape"
_OPTION_CHOICE = lang.Choice(tuple(OPTIONS))
_KEY_FROM: lang.Choice = lang.KEY.fields["from"]  # type: ignore[assignment]
_UIDS: lang.Fields = lang.SECTIONS["uids"]  # type: ignore[assignment]
_DATE_POLICY: lang.Choice = lang.DATES.fields["policy"]  # type: ignore[assignment]
_SHIFT_DAYS: lang.Fields = lang.DATES.fields["shift-days"]  # type: ignore[assignment]
_PATIENT: lang.Fields = lang.SECTIONS["patient"]  # type: ignore[assignment]
_RULE_FIELDS: lang.Fields = lang.rule(ALL_ACTIONS).options[1]  # type: ignore[assignment]
_REGION: lang.Fields = lang.PIXELS.fields["regions"].item  # type: ignore[union-attr, assignment]


def _or(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]


def _kind_of(error: AttributeSyntaxError) -> DiagnosticKind:
    """A keyword missing from the dictionary is the one attribute error no schema can see."""
    return "meaning" if isinstance(error, UnknownKeyword) else SHAPE


@dataclass
class Located:
    """A value with where it was written (for errors raised after parsing, e.g. contradictions)."""

    value: Any
    line: int
    column: int


@dataclass
class RecipeDocument:
    """What one recipe file says, checked but not yet composed with what it extends."""

    path: str  # as shown in messages
    file: Path | None
    base_dir: Path
    data: bytes
    extends: list[Located] = field(default_factory=list)
    profile: Located | None = None
    options: list[Located] = field(default_factory=list)
    key_source: Located | None = None
    uids: Located | None = None  # "remap" | "keep"
    dates: Located | None = None  # value: (mode, min, max)
    patient: Located | None = None  # value: dict with id_prefix / name
    layer: RuleLayer | None = None
    text_patterns: list[TextPattern] = field(default_factory=list)
    pixels: dict[str, Located] = field(default_factory=dict)
    exclude: list[ExcludeRule] = field(default_factory=list)
    description: str = ""


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def error(self, node: yaml.Node, message: str, kind: DiagnosticKind = "meaning") -> None:
        """Report a problem; ``kind="shape"`` when the JSON Schema rejects it as well."""
        self.diagnostics.append(Diagnostic(self.path, *pos(node), message, kind))

    def shape(self, node: yaml.Node, message: str) -> None:
        self.error(node, message, SHAPE)

    def origin(self, node: yaml.Node) -> Origin:
        return Origin("recipe", self.path, self.path, *pos(node))

    # -- shape helpers ----------------------------------------------------------------------
    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]] | None:
        if isinstance(node, yaml.MappingNode):
            return node.value
        self.shape(node, f"{what} must be a mapping, not {kind(node)}")
        return None

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        if isinstance(node, yaml.SequenceNode):
            return node.value
        self.shape(node, f"{what} must be a list, not {kind(node)}")
        return None

    def scalar(self, node: yaml.Node, what: str, types: tuple[type, ...] = (str,)) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.shape(node, f"{what} must be {_type_words(types)}, not {kind(node)}")
            return None
        plain = value(node)
        if isinstance(plain, types) and (bool in types or not isinstance(plain, bool)):
            return plain
        if str in types and isinstance(plain, (int, float)) and not isinstance(plain, bool):
            return node.value  # e.g. a token like 5 in allow-tokens
        if int in types and isinstance(plain, float) and plain.is_integer():
            return int(plain)  # 3.0 is the whole number 3 (as JSON Schema's "integer" says)
        self.shape(node, f"{what} must be {_type_words(types)}, not {kind(node)}")
        return None

    def text(self, node: yaml.Node, what: str) -> str | None:
        """Any scalar as it was written (``YES`` stays "YES", not YAML 1.1's true)."""
        if not isinstance(node, yaml.ScalarNode) or value(node) is None:
            self.shape(node, f"{what} must be text, not {kind(node)}")
            return None
        return str(node.value)

    def choice(self, node: yaml.Node, what: str, choices: lang.Choice) -> str | None:
        text = self.scalar(node, what)
        if text is None:
            return None
        if text not in choices.values:
            options = ", ".join(choices.values)
            self.shape(
                node,
                f'unknown {what} "{text}"{suggest(text, choices.values)}; use one of {options}',
            )
            return None
        return str(text)

    def integer(self, node: yaml.Node, what: str, bounds: lang.Integer, unit: str = "") -> Any:
        """A whole number inside ``bounds``, or None after reporting why not."""
        number = self.scalar(node, what, (int,))
        if number is None:
            return None
        low, high = bounds.minimum, bounds.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            self.shape(node, f"{what} {number} must be {low}..{high}{unit}")
            return None
        return number

    def keys(
        self,
        pairs: list[tuple[yaml.Node, yaml.Node]],
        what: str,
        spec: lang.Fields,
        top_level: bool = False,
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The pairs whose key ``spec`` allows; each other key is reported, the required
        ones missing too are left to the caller (whose message knows what they are for)."""
        allowed = spec.keys
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, val in pairs:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                hint = _misplaced(str(name)) if top_level and name is not None else ""
                self.shape(
                    key,
                    f'unknown key "{name}" in {what}'
                    + (hint or f"{suggest(str(name), allowed)}; allowed: {', '.join(allowed)}"),
                )
                continue
            found[name] = (key, val)
        return found


def _misplaced(name: str) -> str:
    """': did you mean to put it under attributes:?' for a rule written at the top level.

    An attribute (``PatientName: X``), a VR (``PN: X``) or a key of a nested section
    (``ocr: true``) at the top level is the commonest indentation slip; naming the section
    it belongs in says more than the closest top-level key would."""
    section = lang.NESTED_KEYS.get(name)
    if section is None and name.strip() in VR_NAMES:
        section = "vr"
    if section is None:
        try:
            parse_attribute(name)
            section = "attributes"
        except UnknownKeyword:
            section = None
        except AttributeSyntaxError:
            if name.strip().startswith("("):
                section = "attributes"  # a tag the attributes section would explain
    if section is None:
        return ""
    return f": did you mean to put it under {section}:? (indent it below a line {section}:)"


def _type_words(types: tuple[type, ...]) -> str:
    words = {str: "text", int: "a whole number", bool: "true or false", float: "a number"}
    return " or ".join(words.get(t, t.__name__) for t in types)


def parse_document(
    text: str, path: str, file: Path | None = None, base_dir: Path | None = None
) -> tuple[RecipeDocument, list[Diagnostic]]:
    """Check one recipe's text; return what could be read and every problem found."""
    doc = RecipeDocument(
        path=path,
        file=file,
        base_dir=base_dir or (file.parent if file else Path.cwd()),
        data=text.encode("utf-8"),
    )
    node, problems = load_node(text, path)
    checker = _Checker(path)
    checker.diagnostics.extend(problems)
    if node is None:
        if not problems:
            checker.diagnostics.append(
                Diagnostic(path, 1, 1, "empty recipe: start with deid-recipe: 1", SHAPE)
            )
        return doc, checker.diagnostics
    pairs = checker.mapping(node, "a recipe")
    if pairs is None:
        return doc, checker.diagnostics
    sections = checker.keys(pairs, "the recipe", lang.RECIPE, top_level=True)
    _check_version(checker, node, sections)
    doc.layer = RuleLayer(Origin("recipe", path, path))
    for name, (key_node, val) in sections.items():
        handler = _SECTIONS.get(name)
        if handler is None:
            continue
        if isinstance(val, yaml.ScalarNode) and val.tag.endswith(":null") and name != "key":
            continue  # an empty section (e.g. every line commented out) says nothing
        handler(checker, doc, key_node, val)
    return doc, sorted(checker.diagnostics, key=lambda d: (d.line, d.column))


def _check_version(checker: _Checker, root: yaml.Node, sections: dict) -> None:
    if "deid-recipe" not in sections:
        checker.shape(root, f"missing deid-recipe: {FORMAT_VERSION} (the recipe format version)")
        return
    _key, val = sections["deid-recipe"]
    version = checker.scalar(val, "deid-recipe", (int,))
    if version is not None and version != FORMAT_VERSION:
        checker.shape(val, f"unsupported recipe format {version}; this deid reads deid-recipe: 1")


# -- sections -----------------------------------------------------------------------------
def _description(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    text = c.scalar(val, "description")
    doc.description = text or ""


def _extends(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    items = val.value if isinstance(val, yaml.SequenceNode) else [val]
    for item in items:
        target = c.scalar(item, "extends")
        if target is None:
            continue
        if not str(target).strip():
            c.shape(item, "extends is empty: name a recipe file or a built-in recipe")
            continue
        doc.extends.append(Located(str(target), *pos(item)))


def _profile(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    name = c.choice(val, "profile", lang.SECTIONS["profile"])  # type: ignore[arg-type]
    if name:
        doc.profile = Located(name, *pos(val))


def _options(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    items = c.sequence(val, "options")
    seen: set[str] = set()
    for item in items or []:
        name = c.choice(item, "option", _OPTION_CHOICE)
        if name is None:
            continue
        if name in seen:
            c.shape(item, f'option "{name}" is listed twice')
            continue
        seen.add(name)
        doc.options.append(Located(name, *pos(item)))


def _key(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    if isinstance(val, yaml.ScalarNode):
        c.shape(
            val,
            "literal key material in a recipe: recipes are shared, keys are not; write "
            "key: {from: env, name: DEID_KEY} or key: {from: file, path: /secure/deid.key}",
        )
        return
    pairs = c.mapping(val, "key")
    if pairs is None:
        return
    for key, _v in pairs:
        if isinstance(key, yaml.ScalarNode) and key.value in ("value", "secret", "key", "hex"):
            c.shape(
                key,
                f'literal key material ("{key.value}:") in a recipe: name where the key is '
                "(from: env / file / ledger), never the key",
            )
            return
    fields = c.keys(pairs, "key", lang.KEY)
    if "from" not in fields:
        c.shape(val, "key needs from: env, file or ledger")
        return
    source = c.choice(fields["from"][1], "key source", _KEY_FROM)
    name = _key_name(c, fields["name"][1]) if "name" in fields else None
    path = _key_path(c, doc, fields["path"][1]) if "path" in fields else None
    if source == "env":
        if "name" not in fields:
            c.shape(val, "key from env needs name: (the environment variable, e.g. DEID_KEY)")
        elif name:
            doc.key_source = Located(f"env:{name}", *pos(val))
    elif source == "file":
        if "path" not in fields:
            c.shape(val, "key from file needs path: (a file holding the key, outside the recipe)")
        elif path:
            doc.key_source = Located(f"file:{path}", *pos(val))
    elif source == "ledger":
        doc.key_source = Located("ledger", *pos(val))


def _key_name(c: _Checker, node: yaml.Node) -> str | None:
    """The environment variable named, checked even where ``from`` does not use it."""
    name = c.scalar(node, "key name")
    if name is None:
        return None
    if _looks_like_key(name):
        c.error(
            node,
            "literal key material in a recipe: key name must be the environment variable "
            "that holds the key (e.g. DEID_KEY), not the key",
        )
        return None
    if not re.fullmatch(lang.ENV_NAME, name):
        # Not echoed: what was written where a name belongs may be the key itself.
        c.shape(
            node,
            "key name is not an environment variable name (letters, digits and _, "
            "not starting with a digit)",
        )
        return None
    return str(name)


def _key_path(c: _Checker, doc: RecipeDocument, node: yaml.Node) -> Path | None:
    raw = c.scalar(node, "key path")
    if raw is None:
        return None
    if not str(raw).strip():
        c.shape(node, "key path is empty: name the file that holds the key")
        return None
    resolved = Path(raw).expanduser()
    return resolved if resolved.is_absolute() else doc.base_dir / resolved


def _looks_like_key(text: str) -> bool:
    """Long hex or base64-like text: what a key looks like, not a variable or file name."""
    return bool(
        re.fullmatch(r"[0-9A-Fa-f]{32,}", text)
        or (
            len(text) >= 32
            and re.fullmatch(r"[A-Za-z0-9+/=_-]+", text)
            and re.search(r"\d", text)
            and not re.fullmatch(r"[A-Z0-9_]+", text)
        )
    )


def _uids(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "uids")
    if pairs is None:
        return
    fields = c.keys(pairs, "uids", _UIDS)
    if "policy" in fields:
        mode = c.choice(fields["policy"][1], "uids policy", _UIDS.fields["policy"])  # type: ignore[arg-type]
        if mode:
            doc.uids = Located(mode, *pos(fields["policy"][1]))


def _dates(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "dates")
    if pairs is None:
        return
    fields = c.keys(pairs, "dates", lang.DATES)
    if "policy" not in fields:
        c.shape(val, f"dates needs policy: {_or(lang.DATE_POLICIES)}")
        return
    mode = c.choice(fields["policy"][1], "dates policy", _DATE_POLICY)
    if mode is None:
        return
    low, high = -3650, -365
    if "shift-days" in fields:
        key_node, range_node = fields["shift-days"]
        if mode != "shift":
            c.shape(key_node, f"shift-days only applies to policy: shift (policy is {mode})")
            return
        bounds = c.mapping(range_node, "shift-days")
        if bounds is None:
            return
        limits = c.keys(bounds, "shift-days", _SHIFT_DAYS)
        ok = True
        parsed: dict[str, int] = {}
        for name in ("min", "max"):
            if name not in limits:
                c.shape(range_node, f"shift-days needs {name}: (days, e.g. min: -3650, max: -365)")
                ok = False
                continue
            number = c.scalar(limits[name][1], f"shift-days {name}", (int,))
            if number is None:
                ok = False
            elif not lang.SHIFT_DAY.minimum <= number <= lang.SHIFT_DAY.maximum:
                c.shape(
                    limits[name][1],
                    f"shift-days {name} {number} is absurd: keep |days| <= {MAX_SHIFT_DAYS} "
                    "(100 years)",
                )
                ok = False
            else:
                parsed[name] = number
        if not ok:
            return
        low, high = parsed["min"], parsed["max"]
        if low > high:
            c.error(range_node, f"shift-days range is empty: min {low} > max {high}")
            return
        if low == 0 and high == 0:
            c.error(range_node, "shift-days min 0, max 0 shifts nothing; use policy: keep")
            return
    doc.dates = Located((mode, low, high), *pos(fields["policy"][1]))


def _patient(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "patient")
    if pairs is None:
        return
    fields = c.keys(pairs, "patient", _PATIENT)
    result: dict[str, str] = {}
    if "id-prefix" in fields:
        prefix = c.scalar(fields["id-prefix"][1], "patient id-prefix")
        if prefix is not None:
            if len(prefix) > lang.MAX_ID_PREFIX or "\\" in prefix:
                c.shape(
                    fields["id-prefix"][1],
                    f"patient id-prefix must be <= {lang.MAX_ID_PREFIX} characters, no \\",
                )
            else:
                result["id_prefix"] = prefix
    if "name" in fields:
        name = c.choice(fields["name"][1], "patient name policy", _PATIENT.fields["name"])  # type: ignore[arg-type]
        if name:
            result["name"] = name
    doc.patient = Located(result, *pos(val))


def _action(
    c: _Checker, val: yaml.Node, vrs: tuple[str, ...], where: str, vr_section: bool = False
) -> Rule | None:
    """An action written as ``X`` or ``{action: replace, value: ...}``, checked against the
    VRs the attribute can have."""
    replacement: Any = None
    value_node: yaml.Node | None = None
    if isinstance(val, yaml.MappingNode):
        fields = c.keys(val.value, f"the rule for {where}", _RULE_FIELDS)
        if "action" not in fields:
            c.shape(val, f"the rule for {where} needs action: (one of {', '.join(ALL_ACTIONS)})")
            return None
        action_node = fields["action"][1]
        if "value" in fields:
            value_node = fields["value"][1]
            replacement = c.scalar(value_node, f"the value for {where}", (str, int, float))
            if replacement is None:
                return None
        if "reason" in fields:
            c.scalar(fields["reason"][1], "reason")
    else:
        action_node = val
    action = c.scalar(action_node, f"the action for {where}")
    if action is None:
        return None
    if action not in ALL_ACTIONS:
        c.shape(
            action_node,
            f'unknown action "{action}" for {where}{suggest(action, ALL_ACTIONS)}; use one of '
            + ", ".join(ALL_ACTIONS),
        )
        return None
    if action == "replace" and value_node is None:
        c.shape(val, f'replace for {where} needs a value: {{action: replace, value: "..."}}')
        return None
    if value_node is not None and action not in lang.VALUE_ACTIONS:
        c.shape(value_node, f"a value only goes with action replace or D, not {action}")
        return None
    if action == "U" and vrs and "UI" not in vrs:
        c.error(
            action_node,
            f"action U (replace UID) is only valid for VR UI; {where} is {_vr_words(vrs)}",
        )
        return None
    if vr_section and action in lang.NOT_FOR_VRS:
        c.shape(
            action_node,
            f"action {action} cannot apply to every attribute of {where}; write it for the "
            "attribute (e.g. PatientName: pseudonym)",
        )
        return None
    if action == "pseudonym" and vrs and not set(vrs) & set(PSEUDONYM_VRS):
        c.error(
            action_node,
            f"action pseudonym is only valid for attributes with VR {'/'.join(PSEUDONYM_VRS)}; "
            f"{where} is {_vr_words(vrs)}",
        )
        return None
    text_value: str | None = None
    if replacement is not None:
        text_value = _check_value(c, value_node, replacement, vrs, where)  # type: ignore[arg-type]
        if text_value is None:
            return None
    return Rule(action, c.origin(action_node), text_value)


def _vr_words(vrs: tuple[str, ...]) -> str:
    return " or ".join(vrs) if vrs else "of unknown VR"


def _check_value(
    c: _Checker, node: yaml.Node, raw: Any, vrs: tuple[str, ...], where: str
) -> str | None:
    """The replacement as text, if it is valid for at least one of the VRs."""
    text = node.value if isinstance(raw, (int, float)) else str(raw)
    if not vrs:
        return text
    reasons = []
    for vr in vrs:
        candidate: Any = raw
        if vr in NUMERIC_VRS:
            try:
                candidate = float(text) if vr in ("FL", "FD") else int(text)
            except ValueError:
                reasons.append(f"{vr} needs a number")
                continue
        elif vr in ("SQ",):
            reasons.append("a sequence cannot take a fixed value")
            continue
        elif vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
            reasons.append(f"binary VR {vr} cannot take a text value")
            continue
        else:
            candidate = text
        try:
            validate_value(vr, candidate, pydicom_config.RAISE)
        except (ValueError, TypeError) as error:
            reasons.append(str(error).split(" Please see")[0].rstrip("."))
            continue
        return text
    c.error(
        node, f"value {text!r} is not valid for {where} ({_vr_words(vrs)}): {'; '.join(reasons)}"
    )
    return None


def _attributes(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "attributes")
    if pairs is None:
        return
    assert doc.layer is not None
    seen: dict[object, tuple[str, int]] = {}
    for key, rule_node in pairs:
        text = c.scalar(key, "an attribute")
        if text is None:
            continue
        try:
            ref = parse_attribute(str(text))
        except AttributeSyntaxError as error:
            c.error(key, str(error), _kind_of(error))
            continue
        if ref.kind == "block":
            c.shape(key, f"{text} names a whole private block: put it under private-creators:")
            continue
        if ref.identity in seen:
            label, line = seen[ref.identity]
            if label != text:  # literal duplicates are reported by the YAML reader
                c.error(
                    key,
                    f"two rules for the same attribute: {text} is {label} (line {line}); keep one",
                )
            continue
        seen[ref.identity] = (str(text), pos(key)[0])
        rule = _action(c, rule_node, ref.vrs, ref.label)
        if rule is not None:
            place_rule(doc.layer, ref, rule)


def _private_creators(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "private-creators")
    if pairs is None:
        return
    assert doc.layer is not None
    for key, rule_node in pairs:
        text = c.scalar(key, "a private creator")
        if text is None:
            continue
        try:
            ref = parse_creator(str(text))
        except AttributeSyntaxError as error:
            c.error(key, str(error), _kind_of(error))
            continue
        rule = _action(c, rule_node, (), f"private creator {text}")
        if rule is None:
            continue
        if rule.action in lang.NOT_FOR_BLOCKS:
            c.shape(rule_node, f"action {rule.action} cannot apply to a whole private block")
            continue
        place_rule(doc.layer, ref, rule)


def _vr(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "vr")
    if pairs is None:
        return
    assert doc.layer is not None
    for key, rule_node in pairs:
        name = c.scalar(key, "a VR")
        if name is None:
            continue
        if name not in VR_NAMES:
            c.shape(key, f'unknown VR "{name}"{suggest(str(name), VR_NAMES)}')
            continue
        rule = _action(c, rule_node, (name,), f"VR {name}", vr_section=True)
        if rule is not None:
            doc.layer.vr[name] = rule


def _text_patterns(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    names: set[str] = set()
    for item in c.sequence(val, "text-patterns") or []:
        pairs = c.mapping(item, "a text pattern")
        if pairs is None:
            continue
        fields = c.keys(pairs, "a text pattern", lang.TEXT_PATTERN)
        if "name" not in fields or "regex" not in fields:
            c.shape(item, "a text pattern needs name: and regex:")
            continue
        name = c.scalar(fields["name"][1], "text pattern name")
        source = c.scalar(fields["regex"][1], "text pattern regex")
        replacement = ""
        if "replacement" in fields:
            replacement = c.scalar(fields["replacement"][1], "text pattern replacement") or ""
        if name is None or source is None:
            continue
        if not str(name).strip() or not str(source):
            empty = "name" if not str(name).strip() else "regex"
            c.shape(fields[empty][1], f"a text pattern's {empty} is empty")
            continue
        if name in names:
            c.error(fields["name"][1], f'text pattern "{name}" is defined twice')
            continue
        names.add(name)
        try:
            compiled = re.compile(source)
        except re.error as error:
            c.error(fields["regex"][1], f'invalid regex for text pattern "{name}": {error}')
            continue
        if compiled.fullmatch(""):
            c.error(
                fields["regex"][1], f'text pattern "{name}" matches empty text; it would do nothing'
            )
            continue
        where = fields["replacement"][1] if "replacement" in fields else item
        if not _literal_replacement(c, where, name, compiled, replacement):
            continue
        doc.text_patterns.append(TextPattern(name, compiled, replacement, c.origin(item)))


def _literal_replacement(
    c: _Checker, node: yaml.Node, name: str, compiled: re.Pattern[str], replacement: str
) -> bool:
    """Whether ``replacement`` is plain text as ``re.sub`` reads it.

    The engine substitutes with ``re.sub``, whose template expands ``\\1`` and ``\\g<0>``:
    a group reference would write the matched identifier back, and a bad escape would fail
    every file at run time instead of here."""
    try:
        compiled.sub(replacement, "")
    except (re.error, IndexError) as error:
        c.error(node, f'invalid replacement for text pattern "{name}": {error}')
        return False
    if re.search(r"\\(?:g<|\d)", replacement):
        c.error(
            node,
            f'the replacement for text pattern "{name}" refers to a group of the match, which '
            "would put the matched text back; write plain text",
        )
        return False
    return True


def _condition(c: _Checker, node: yaml.Node, what: str) -> Condition | None:
    pairs = c.mapping(node, what)
    if pairs is None:
        return None
    mapping: dict[str, Any] = {}
    ok = True
    for key, accepted in pairs:
        keyword = c.scalar(key, "a condition keyword")
        if keyword is None:
            ok = False
            continue
        try:
            ref = parse_attribute(str(keyword))
        except AttributeSyntaxError as error:
            c.error(key, str(error), _kind_of(error))
            ok = False
            continue
        if ref.kind != "tag" or not ref.keyword or ref.keyword != keyword:
            c.shape(key, f"a condition names attributes by keyword (e.g. Modality), not {keyword}")
            ok = False
            continue
        if isinstance(accepted, yaml.SequenceNode):
            values = [c.text(v, f"a value for {keyword}") for v in accepted.value]
            if any(v is None for v in values) or not values:
                if not values:
                    c.shape(accepted, f"the values for {keyword} are an empty list")
                ok = False
                continue
            mapping[keyword] = values
        else:
            single = c.text(accepted, f"the value for {keyword}")
            if single is None:
                ok = False
                continue
            mapping[keyword] = single
    if not ok:
        return None
    return Condition.from_mapping(mapping, c.origin(node))


def _pixels(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    pairs = c.mapping(val, "pixels")
    if pairs is None:
        return
    fields = c.keys(pairs, "pixels", lang.PIXELS)
    for name, (key, node) in fields.items():
        parsed = _PIXEL_FIELDS[name](c, node)
        if parsed is not None:
            doc.pixels[name] = Located(parsed, *pos(key))


def _pixel_clean(c: _Checker, node: yaml.Node) -> tuple[Condition, ...] | None:
    items = c.sequence(node, "pixels clean (a list of conditions)")
    if items is None:
        return None
    conditions = [_condition(c, item, "a pixels clean condition") for item in items]
    if any(cond is None for cond in conditions):
        return None
    return tuple(conditions)  # type: ignore[arg-type]


def _pixel_bool(what: str):
    def parse(c: _Checker, node: yaml.Node) -> bool | None:
        return c.scalar(node, what, (bool,))

    return parse


def _pixel_margin(c: _Checker, node: yaml.Node) -> int | None:
    margin: int | None = c.integer(node, "pixels margin", lang.MARGIN, " pixels")
    return margin


def _pixel_tokens(c: _Checker, node: yaml.Node) -> tuple[str, ...] | None:
    items = c.sequence(node, "pixels allow-tokens")
    if items is None:
        return None
    tokens = [c.text(item, "an allowed token") for item in items]
    for item, token in zip(items, tokens):
        if token is not None and (not str(token).strip() or " " in str(token).strip()):
            c.shape(item, f"allowed token {token!r} must be one word")
            return None
    if any(t is None for t in tokens):
        return None
    return tuple(str(t) for t in tokens)


def _pixel_choice(what: str, choices: lang.Choice):
    def parse(c: _Checker, node: yaml.Node) -> str | None:
        return c.choice(node, what, choices)

    return parse


def _pixel_regions(c: _Checker, node: yaml.Node) -> tuple[PixelRegionRule, ...] | None:
    items = c.sequence(node, "pixels regions")
    if items is None:
        return None
    regions = []
    ok = True
    for item in items:
        pairs = c.mapping(item, "a pixels region")
        if pairs is None:
            ok = False
            continue
        fields = c.keys(pairs, "a pixels region", _REGION)
        if "when" not in fields or "boxes" not in fields:
            c.shape(item, "a pixels region needs when: (device attributes) and boxes:")
            ok = False
            continue
        when = _condition(c, fields["when"][1], "a region's when")
        boxes = _boxes(c, fields["boxes"][1])
        if when is None or boxes is None:
            ok = False
            continue
        regions.append(PixelRegionRule(when, boxes, c.origin(item)))
    return tuple(regions) if ok else None


def _boxes(c: _Checker, node: yaml.Node) -> tuple[tuple[int, int, int, int], ...] | None:
    items = c.sequence(node, "boxes")
    if items is None:
        return None
    if not items:
        c.shape(node, "boxes is empty; give at least one [x, y, width, height]")
        return None
    boxes = []
    for item in items:
        numbers = c.sequence(item, "a box [x, y, width, height]")
        if numbers is None:
            return None
        if len(numbers) != 4:
            c.shape(item, f"a box is [x, y, width, height]: 4 numbers, not {len(numbers)}")
            return None
        values = [c.scalar(n, "a box coordinate", (int,)) for n in numbers]
        if any(v is None for v in values):
            return None
        x, y, w, h = values
        if min(x, y) < 0:
            c.shape(item, f"box {values} lies outside any image: negative x or y")
            return None
        if w <= 0 or h <= 0:
            c.shape(item, f"box {values} has zero size: width and height must be > 0")
            return None
        if x + w > MAX_PIXELS or y + h > MAX_PIXELS:
            c.error(item, f"box {values} lies outside any image: beyond {MAX_PIXELS} pixels")
            return None
        boxes.append((x, y, w, h))
    return tuple(boxes)


_PIXEL_FIELDS = {
    "clean": _pixel_clean,
    "ocr": _pixel_bool("pixels ocr"),
    "allow-tokens": _pixel_tokens,
    "regions": _pixel_regions,
    "margin": _pixel_margin,
    "burned-in-unmatched": _pixel_choice(
        "burned-in-unmatched",
        lang.PIXELS.fields["burned-in-unmatched"],  # type: ignore[arg-type]
    ),
    "overlays": _pixel_choice("pixels overlays", lang.PIXELS.fields["overlays"]),  # type: ignore[arg-type]
}


def _exclude(c: _Checker, doc: RecipeDocument, _k: yaml.Node, val: yaml.Node) -> None:
    for item in c.sequence(val, "exclude") or []:
        pairs = c.mapping(item, "an exclude rule")
        if pairs is None:
            continue
        fields = c.keys(pairs, "an exclude rule", lang.EXCLUDE)
        if "when" not in fields or "reason" not in fields:
            c.shape(item, "an exclude rule needs when: and reason: (the ledger records the reason)")
            continue
        when = _condition(c, fields["when"][1], "an exclude rule's when")
        reason = c.scalar(fields["reason"][1], "exclude reason")
        if reason is not None and ("\n" in reason or not reason.strip()):
            c.shape(fields["reason"][1], "an exclude reason is one non-empty line")
            continue
        if when is not None and reason:
            doc.exclude.append(ExcludeRule(when, reason, c.origin(item)))


_SECTIONS = {
    "description": _description,
    "extends": _extends,
    "profile": _profile,
    "options": _options,
    "key": _key,
    "uids": _uids,
    "dates": _dates,
    "patient": _patient,
    "attributes": _attributes,
    "private-creators": _private_creators,
    "vr": _vr,
    "text-patterns": _text_patterns,
    "pixels": _pixels,
    "exclude": _exclude,
}
