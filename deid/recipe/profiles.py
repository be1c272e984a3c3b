"""Read the generated profile files (``profiles/*.yaml``) into rule layers.

Why a separate module: the profile and option layers are the standard's word and are the same
for every recipe, so they are parsed once per process (cached by path, size and mtime) and
each rule keeps the profile file's line so ``deid explain`` can point at the table row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from deid.errors import RecipeError
from deid.recipe.attributes import AttributeSyntaxError, parse_attribute, place_rule
from deid.recipe.model import Origin, PrivateKey, Rule, RuleLayer
from deid.recipe.yamlsrc import load_node, pos, value
from deid.resources import profiles_dir


@dataclass(frozen=True)
class ProfileRow:
    """One row of Table E.1-1 as a generated profile file carries it."""

    tag: str
    action: str
    name: str
    keyword: str
    line: int


@dataclass(frozen=True)
class SafePrivateRow:
    """One row of Table E.3.10-1."""

    key: PrivateKey
    vr: str
    meaning: str
    line: int


@dataclass(frozen=True)
class ProfileFile:
    """A parsed profile or option file."""

    name: str  # "basic" or an option name
    path: Path
    display: str
    code: str
    section: str
    title: str
    edition: str
    rows: tuple[ProfileRow, ...]
    safe_private: tuple[SafePrivateRow, ...]
    data: bytes


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def profile_path(name: str) -> Path:
    return profiles_dir() / f"{name}.yaml"


def load_profile_file(name: str) -> ProfileFile:
    """The parsed profile ``basic`` or option ``name`` (e.g. ``retain-uids``)."""
    path = profile_path(name)
    try:
        stat = path.stat()
    except OSError as error:
        raise RecipeError(
            f"{display_path(path)}: cannot read profile file ({error.strerror})"
        ) from None
    return _load(str(path), stat.st_size, stat.st_mtime_ns, name)


@lru_cache(maxsize=64)
def _load(path_text: str, _size: int, _mtime: int, name: str) -> ProfileFile:
    path = Path(path_text)
    data = path.read_bytes()
    shown = display_path(path)
    node, problems = load_node(data.decode("utf-8"), shown)
    if problems or not isinstance(node, yaml.MappingNode):
        detail = str(problems[0]) if problems else f"{shown}:1:1: not a mapping"
        raise RecipeError(f"{detail} (regenerate with `make profiles`)")
    top = {key.value: val for key, val in node.value}
    header = ("code", "section", "title", "edition")
    plain = {name: value(top[name]) for name in header if name in top}
    rows = []
    for entry in top.get("attributes", yaml.SequenceNode("", [])).value:
        item = {k.value: v.value for k, v in entry.value}
        rows.append(
            ProfileRow(
                item["tag"], item["action"], item["name"], item.get("keyword", ""), pos(entry)[0]
            )
        )
    safe = []
    if "safe-private" in top:
        for entry in top["safe-private"].value:
            item = {k.value: v.value for k, v in entry.value}
            key = PrivateKey(int(item["group"], 16), item["creator"], int(item["element"], 16))
            safe.append(SafePrivateRow(key, item["vr"], item["meaning"], pos(entry)[0]))
    code = plain.get("code") or {}
    return ProfileFile(
        name=name,
        path=path,
        display=shown,
        code=str(code.get("value", "")),
        section=str(plain.get("section", "")),
        title=str(plain.get("title", "")),
        edition=str(plain.get("edition", "")),
        rows=tuple(rows),
        safe_private=tuple(safe),
        data=data,
    )


def _place(layer: RuleLayer, row: ProfileRow, rule: Rule, shown: str) -> None:
    try:
        ref = parse_attribute(row.tag)
    except AttributeSyntaxError as error:
        raise RecipeError(
            f"{shown}:{row.line}:1: {error} (regenerate with `make profiles`)"
        ) from None
    place_rule(layer, ref, rule)


def profile_layer(profile: ProfileFile) -> RuleLayer:
    """Every row of the Basic Profile, each rule pointing at its line."""
    layer = RuleLayer(Origin("profile", profile.name, profile.display))
    for row in profile.rows:
        origin = Origin("profile", profile.name, profile.display, row.line, 3)
        _place(layer, row, Rule(row.action, origin), profile.display)
    return layer


def option_layer(option: ProfileFile) -> tuple[RuleLayer, frozenset[PrivateKey]]:
    """The non-blank cells of one option's column (and, for Retain Safe Private, K for every
    Table E.3.10-1 key: the private row's C means "keep the safe ones", never "keep all")."""
    layer = RuleLayer(Origin("option", option.name, option.display))
    for row in option.rows:
        if row.tag == "(gggg,eeee) where gggg is odd":
            continue  # realised by the safe-private list below
        origin = Origin("option", option.name, option.display, row.line, 3)
        _place(layer, row, Rule(row.action, origin), option.display)
    for safe in option.safe_private:
        origin = Origin("option", option.name, option.display, safe.line, 3)
        layer.private[safe.key] = Rule("K", origin)
    return layer, frozenset(s.key for s in option.safe_private)
