"""What a composed recipe does, attribute by attribute, and which file and line decided.

Why: a recipe is a stack (safety net, profile, options, recipe files), so the effective action
for an attribute is not written in any one place. ``deid explain`` walks the same stack the
engine does and shows the decision and every rule it overrode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deid.recipe.attributes import AttributeRef, format_tag, parse_attribute
from deid.recipe.model import ANY_GROUP, Origin, Recipe, Rule, RuleLayer
from deid.recipe.profiles import load_profile_file


@dataclass(frozen=True)
class Decision:
    """One layer's rule for an attribute; the first in a trace is the one that decides."""

    rule: Rule
    via: str  # "tag", "repeating", "vr PN", "private", "private block", "private default"

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.rule.action,
            "value": self.rule.value,
            "via": self.via,
            **origin_dict(self.rule.origin),
        }


def origin_dict(origin: Origin) -> dict[str, Any]:
    return {
        "layer": origin.layer,
        "source": origin.name,
        "file": origin.file or None,
        "line": origin.line or None,
        "where": where(origin),
    }


def where(origin: Origin) -> str:
    if origin.file and origin.line:
        return f"{origin.file}:{origin.line}"
    return origin.file or "built-in"


def _layer_rules(layer: RuleLayer, ref: AttributeRef, vr: str) -> Decision | None:
    """The rule one layer has for ``ref``, in the order :class:`Recipe` looks them up."""
    if ref.kind == "tag":
        rule = layer.tags.get(ref.tag)  # type: ignore[arg-type]
        if rule:
            return Decision(rule, "tag")
        group = ref.tag >> 16  # type: ignore[operator]
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF:
            rule = layer.repeating_rule((group & 0xFF00, ref.tag & 0xFFFF))  # type: ignore[operator]
            if rule:
                return Decision(rule, "repeating")
        if vr and vr in layer.vr:
            return Decision(layer.vr[vr], f"vr {vr}")
        return None
    if ref.kind == "repeating":
        rule = layer.repeating_rule(ref.repeating)  # type: ignore[arg-type]
        if rule:
            return Decision(rule, "repeating")
        if vr and vr in layer.vr:
            return Decision(layer.vr[vr], f"vr {vr}")
        return None
    if ref.kind == "private":
        key = ref.private
        assert key is not None
        if key in layer.private:
            return Decision(layer.private[key], "private")
        block = layer.block_rule(key.group, key.creator)
        if block:
            return Decision(block, "private block")
    if ref.kind == "block":
        assert ref.block is not None
        block = layer.block_rule(*ref.block)
        if block:
            return Decision(block, "private block")
    if layer.private_default is not None and ref.kind in ("private", "block", "private-default"):
        return Decision(layer.private_default, "private default")
    return None


def trace(recipe: Recipe, ref: AttributeRef, vr: str = "") -> list[Decision]:
    """Every layer's rule for ``ref``, top (deciding) first."""
    vr = vr or (ref.vrs[0] if ref.vrs else "")
    found = []
    for layer in reversed(recipe.layers):
        decision = _layer_rules(layer, ref, vr)
        if decision is not None:
            found.append(decision)
    return found


def explain_attribute(recipe: Recipe, text: str) -> dict[str, Any]:
    """The decision and its trace for one attribute named as a recipe would name it."""
    ref = parse_attribute(text)
    row = None
    if ref.kind in ("tag", "repeating", "private-default"):
        # A tag's label is "Keyword (gggg,eeee)"; the table row is keyed by the tag alone.
        table_key = ref.label if ref.kind == "private-default" else ref.label.split(" ")[-1]
        row = _table_rows().get(table_key)
    decisions = trace(recipe, ref)
    result: dict[str, Any] = {
        "attribute": ref.label,
        "keyword": ref.keyword or None,
        "vr": list(ref.vrs),
        "in_table": row is not None,
        "table_name": row[0] if row else None,
        "table_action": row[1] if row else None,
        "effective": decisions[0].as_dict() if decisions else None,
        "overrides": [d.as_dict() for d in decisions[1:]],
    }
    if ref.kind == "private" and ref.private in recipe.safe_private:
        result["safe_private"] = True
    if not decisions and ref.kind == "tag" and not ref.vrs:
        result["note"] = (
            "not in pydicom's dictionary: the safety net decides by the VR the file gives (UN: X)"
        )
    elif not decisions:
        result["note"] = "no rule: the engine keeps it"
    return result


def _table_rows() -> dict[str, tuple[str, str, int]]:
    """Published tag -> (name, Basic Profile action, line in profiles/basic.yaml)."""
    basic = load_profile_file("basic")
    return {row.tag: (row.name, row.action, row.line) for row in basic.rows}


def explain_recipe(recipe: Recipe) -> dict[str, Any]:
    """The whole table with its effective actions, plus the recipe's policies."""
    basic = load_profile_file("basic")
    rows = []
    for row in basic.rows:
        ref = parse_attribute(row.tag)
        decisions = trace(recipe, ref)
        decided = decisions[0] if decisions else None
        rows.append(
            {
                "tag": row.tag,
                "name": row.name,
                "keyword": row.keyword or None,
                "table_action": row.action,
                "action": decided.rule.action if decided else "K",
                "value": decided.rule.value if decided else None,
                **(origin_dict(decided.rule.origin) if decided else {"where": "no rule"}),
            }
        )
    extra = []
    table_tags = {r["tag"] for r in rows}
    for layer in recipe.layers:
        if layer.origin.layer != "recipe":
            continue
        for tag, rule in layer.tags.items():
            if format_tag(tag) not in table_tags:
                extra.append(
                    {"tag": format_tag(tag), "action": rule.action, **origin_dict(rule.origin)}
                )
        for key, rule in layer.private.items():
            extra.append({"tag": str(key), "action": rule.action, **origin_dict(rule.origin)})
        for (group, creator), rule in layer.private_creators.items():
            label = f'(odd,"{creator}")' if group == ANY_GROUP else f'({group:04X},"{creator}")'
            extra.append({"tag": label, "action": rule.action, **origin_dict(rule.origin)})
    safety = recipe.layers[0] if recipe.layers else None
    return {
        "recipe": recipe.name,
        "path": recipe.path,
        "digest": recipe.digest,
        "profile": recipe.profile,
        "options": list(recipe.options),
        "method_codes": [{"value": v, "meaning": m} for v, m in recipe.method_codes()],
        "dates": {
            "policy": recipe.dates.mode,
            **(
                {"shift_days": [recipe.dates.min_days, recipe.dates.max_days]}
                if recipe.dates.mode == "shift"
                else {}
            ),
        },
        "uids": {"policy": recipe.uids.mode},
        "patient": {"id_prefix": recipe.patient.id_prefix, "name": recipe.patient.name},
        "key_source": recipe.key_source,
        "safety_net": {vr: rule.action for vr, rule in sorted(safety.vr.items())} if safety else {},
        "safe_private_count": len(recipe.safe_private),
        "text_patterns": [p.name for p in recipe.text_patterns],
        "pixels": {
            "enabled": recipe.pixels.enabled,
            "clean_when": len(recipe.pixels.clean_when),
            "ocr": recipe.pixels.ocr,
            "regions": len(recipe.pixels.regions),
            "burned_in_unmatched": recipe.pixels.burned_in_unmatched,
            "overlays": recipe.pixels.overlays,
        },
        "exclude": [rule.reason for rule in recipe.exclude],
        "source_files": list(recipe.source_files),
        "attributes": rows,
        "recipe_rules_outside_table": extra,
    }


def render_text(report: dict[str, Any]) -> str:
    """``deid explain`` as text: a summary, then one line per table row."""
    lines = [
        f"recipe {report['recipe']} ({report['path']}), digest {report['digest'][:16]}",
        f"profile {report['profile']}; options: {', '.join(report['options']) or 'none'}",
        "CID 7050 codes written: "
        + "; ".join(f"{c['value']} {c['meaning']}" for c in report["method_codes"]),
        f"dates: {report['dates']['policy']}"
        + (
            " by {} .. {} days (keyed per patient)".format(*report["dates"]["shift_days"])
            if "shift_days" in report["dates"]
            else ""
        )
        + f"; uids: {report['uids']['policy']}; patient: id-prefix "
        f"{report['patient']['id_prefix']!r}, name {report['patient']['name']}; key: "
        f"{report['key_source']}",
        "safety net for attributes the table does not list (by VR): "
        + ", ".join(f"{vr} {a}" for vr, a in report["safety_net"].items() if a != "K")
        + ", every other VR K; private data never falls to VR rules",
        f"pixels: {'clean' if report['pixels']['enabled'] else 'not cleaned'}"
        f" ({report['pixels']['clean_when']} conditions, ocr {report['pixels']['ocr']}, "
        f"{report['pixels']['regions']} regions, overlays {report['pixels']['overlays']})",
        f"safe private attributes kept: {report['safe_private_count']}; text patterns: "
        f"{', '.join(report['text_patterns']) or 'none'}",
        f"exclude: {'; '.join(report['exclude']) or 'nothing'}",
        "",
        f"{'TAG':<32} {'TABLE':<7} {'ACTION':<10} {'NAME':<48} DECIDED BY",
    ]
    for row in report["attributes"]:
        action = row["action"] + (f"={row['value']!r}" if row.get("value") else "")
        decided = f"{row.get('layer', '')} {row.get('source', '')} ({row['where']})"
        name = row["name"][:48]
        lines.append(f"{row['tag']:<32} {row['table_action']:<7} {action:<10} {name:<48} {decided}")
    for row in report["recipe_rules_outside_table"]:
        lines.append(
            f"{row['tag']:<32} {'-':<7} {row['action']:<10} {'(not in table)':<48} "
            f"{row['layer']} {row['source']} ({row['where']})"
        )
    return "\n".join(lines)


def render_attribute_text(result: dict[str, Any]) -> str:
    lines = [f"{result['attribute']}  VR {'/'.join(result['vr']) or 'unknown'}"]
    if result["in_table"]:
        lines.append(f"table E.1-1: {result['table_name']}, Basic Profile {result['table_action']}")
    else:
        lines.append("table E.1-1: not listed (the safety net or private rules apply)")
    effective = result["effective"]
    if effective:
        value = f" value {effective['value']!r}" if effective.get("value") else ""
        lines.append(
            f"effective: {effective['action']}{value}, decided by {effective['layer']} "
            f"{effective['source']} ({effective['where']}) via {effective['via']}"
        )
    else:
        lines.append(f"effective: {result.get('note')}")
    if result.get("safe_private"):
        lines.append("listed in Table E.3.10-1 (safe private)")
    for other in result["overrides"]:
        lines.append(
            f"  overrides {other['action']} from {other['layer']} {other['source']} "
            f"({other['where']}) via {other['via']}"
        )
    return "\n".join(lines)
