"""Compose a recipe file, everything it ``extends``, the profile and options into a Recipe.

Why here and not in the document parser: precedence and consistency only exist across the
stack. Layers are, bottom to top: the VR safety net, the profile, one layer per option in the
order the recipes list them, one layer per recipe file from the most basic ``extends`` to the
file named. Policies (dates, UIDs) must agree with the options: ``dates: {policy: shift}``
implies Retain Longitudinal ... Modified Dates, ``keep`` implies ... Full Dates, ``uids:
{policy: keep}`` implies Retain UIDs (and each option implies its policy when the policy is not
written); anything else is a contradiction and an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from deid.dicom.vrs import DATE_VRS, TEXT_VRS
from deid.recipe.document import VR_NAMES, Located, RecipeDocument, parse_document
from deid.recipe.model import (
    DatePolicy,
    Origin,
    PatientPolicy,
    PixelSettings,
    PrivateKey,
    Recipe,
    Rule,
    RuleLayer,
    TextPattern,
    UidPolicy,
)
from deid.recipe.profiles import (
    display_path,
    load_profile_file,
    option_layer,
    profile_layer,
)
from deid.recipe.yamlsrc import Diagnostic
from deid.resources import recipes_dir

BUILTIN_RECIPES = ("basic", "research", "retain-uids")
#: Options deid can name but does not implement; claiming their CID 7050 code would be false.
UNSUPPORTED_OPTIONS = {
    "clean-recognizable-visual-features": "deid does not deface or distort pixel data",
}
FULL = "retain-longitudinal-full-dates"
MODIFIED = "retain-longitudinal-modified-dates"
SAFETY_NET = Origin("safety-net", "vr-defaults")


@dataclass
class Composition:
    """Everything composition found: the documents in stack order and every problem."""

    documents: list[RecipeDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    recipe: Recipe | None = None


def resolve_recipe(spec: str, base_dir: Path) -> Path:
    """The file a recipe name means, on the command line (``base_dir`` = the current folder)
    and in ``extends`` (``base_dir`` = the recipe's folder); it may not exist.

    The rule, so that nothing lying in the current folder can change which recipe runs:
    a bare built-in name (``basic``, ``research``, ``retain-uids``: no path separator, no
    ``.yaml``/``.yml``) always means the shipped recipe, even next to a ``./research/`` folder
    or file (write ``./research`` for that). Anything else is a path; a bare ``research.yaml``
    that does not exist there still means the shipped file of that name."""
    if spec in BUILTIN_RECIPES:
        return recipes_dir() / f"{spec}.yaml"
    candidate = Path(spec).expanduser()
    if not candidate.is_absolute():
        candidate = base_dir / candidate
    if not candidate.exists():
        return builtin_path(spec) or candidate
    return candidate


def resolve_extends(spec: str, base_dir: Path) -> Path | None:
    """The recipe file ``extends: spec`` names (see :func:`resolve_recipe`), or None."""
    target = resolve_recipe(spec, base_dir)
    return target if target.is_file() else None


def builtin_path(spec: str) -> Path | None:
    """The shipped recipe a bare name (``research``, ``research.yaml``) means, else None."""
    if "/" in spec or "\\" in spec:
        return None
    stem = spec.removesuffix(".yaml").removesuffix(".yml")
    if stem not in BUILTIN_RECIPES:
        return None
    return recipes_dir() / f"{stem}.yaml"


def read_document(path: Path) -> tuple[RecipeDocument, list[Diagnostic]]:
    shown = display_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        return RecipeDocument(shown, path, path.parent, b""), [
            Diagnostic(shown, 1, 1, f"cannot read recipe: {error.strerror or error}")
        ]
    except UnicodeDecodeError as error:
        return RecipeDocument(shown, path, path.parent, b""), [
            Diagnostic(shown, 1, 1, f"not UTF-8 text ({error.reason} at byte {error.start})")
        ]
    return parse_document(text, shown, path, path.parent)


def compose(top: RecipeDocument, top_diagnostics: list[Diagnostic], name: str) -> Composition:
    """Load the ``extends`` chain of ``top`` and build the Recipe (None if anything failed)."""
    result = Composition(diagnostics=list(top_diagnostics))
    loaded: set[Path] = set()

    def visit(doc: RecipeDocument, stack: list[Path]) -> None:
        for ext in doc.extends:
            target = resolve_extends(ext.value, doc.base_dir)
            if target is None:
                result.diagnostics.append(
                    Diagnostic(
                        doc.path,
                        ext.line,
                        ext.column,
                        f'extends "{ext.value}": no such recipe file (relative to '
                        f"{display_path(doc.base_dir) or '.'}) and no built-in recipe of that "
                        f"name ({', '.join(BUILTIN_RECIPES)})",
                    )
                )
                continue
            key = target.resolve()
            if key in stack:
                chain = " -> ".join(display_path(p) for p in [*stack[stack.index(key) :], key])
                result.diagnostics.append(
                    Diagnostic(doc.path, ext.line, ext.column, f"extends cycle: {chain}")
                )
                continue
            if key in loaded:
                continue  # a diamond: the shared base is composed once, at its first place
            base, problems = read_document(target)
            result.diagnostics.extend(problems)
            visit(base, [*stack, key])
        if doc.file is not None:
            loaded.add(doc.file.resolve())
        result.documents.append(doc)

    visit(top, [top.file.resolve()] if top.file else [])
    if not result.diagnostics:
        recipe = _build(result, name)
        if not result.diagnostics:
            result.recipe = recipe
    result.diagnostics = in_reading_order(result.diagnostics)
    return result


def in_reading_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """File by file (in order of first mention), then by line and column.

    The checks run in passes (the document's own keys, then its ``extends`` chain, then
    the composed recipe), so the raw order jumps back up a file; an author fixes top to
    bottom, and ``deid run`` names the first problem only.
    """
    files: dict[str, int] = {}
    for diagnostic in diagnostics:
        files.setdefault(diagnostic.path, len(files))
    return sorted(diagnostics, key=lambda d: (files[d.path], d.line, d.column))


def _error(result: Composition, doc: RecipeDocument, where: Located, message: str) -> None:
    result.diagnostics.append(Diagnostic(doc.path, where.line, where.column, message))


def _last(docs: list[RecipeDocument], attribute: str) -> tuple[RecipeDocument, Located] | None:
    for doc in reversed(docs):
        found = getattr(doc, attribute)
        if found is not None:
            return doc, found
    return None


def _build(result: Composition, name: str) -> Recipe:
    docs = result.documents
    top = docs[-1]
    options: list[str] = []
    where: dict[str, tuple[RecipeDocument, Located]] = {}
    for doc in docs:
        for option in doc.options:
            if option.value in UNSUPPORTED_OPTIONS:
                _error(
                    result,
                    doc,
                    option,
                    f"option {option.value} is not supported: {UNSUPPORTED_OPTIONS[option.value]}, "
                    "so the output must not claim it; remove it",
                )
                continue
            if option.value not in options:
                options.append(option.value)
                where[option.value] = (doc, option)

    dates = _date_policy(result, docs, options, where)
    uids = _uid_policy(result, docs, options, where)

    profile_name = "basic"
    profile_set = _last(docs, "profile")
    if profile_set:
        profile_name = profile_set[1].value
    profile = load_profile_file(profile_name)
    option_files = [load_profile_file(option) for option in options]

    layers = [safety_net_layer(dates.mode), profile_layer(profile)]
    safe_private: frozenset[PrivateKey] = frozenset()
    for option_file in option_files:
        layer, safe = option_layer(option_file)
        layers.append(layer)
        safe_private |= safe
    layers += [doc.layer for doc in docs if doc.layer is not None]

    patient = PatientPolicy()
    patient_set = _last(docs, "patient")
    if patient_set:
        patient = PatientPolicy(**patient_set[1].value)
    key_set = _last(docs, "key_source")

    patterns: dict[str, TextPattern] = {}
    for doc in docs:
        for pattern in doc.text_patterns:
            patterns.pop(pattern.name, None)
            patterns[pattern.name] = pattern  # a later file redefines a pattern by name

    pixel_fields: dict[str, object] = {}
    for doc in docs:
        pixel_fields.update({k: v.value for k, v in doc.pixels.items()})
    pixels = PixelSettings(
        enabled="clean-pixel-data" in options,
        clean_when=pixel_fields.get("clean", ()),  # type: ignore[arg-type]
        ocr=pixel_fields.get("ocr", True),  # type: ignore[arg-type]
        regions=pixel_fields.get("regions", ()),  # type: ignore[arg-type]
        allow_tokens=pixel_fields.get("allow-tokens", ()),  # type: ignore[arg-type]
        margin=pixel_fields.get("margin", 3),  # type: ignore[arg-type]
        burned_in_unmatched=pixel_fields.get("burned-in-unmatched", "quarantine"),  # type: ignore[arg-type]
        overlays=pixel_fields.get("overlays", "remove"),  # type: ignore[arg-type]
    )

    composed: list[tuple[str, bytes]] = [(profile.display, profile.data)]
    composed += [(f.display, f.data) for f in option_files]
    composed += [(doc.path, doc.data) for doc in docs]
    digest = hashlib.sha256()
    for _shown, data in composed:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    return Recipe(
        name=name,
        path=top.path,
        digest=digest.hexdigest(),
        profile=profile_name,
        options=tuple(options),
        layers=layers,
        safe_private=safe_private,
        uids=uids,
        dates=dates,
        patient=patient,
        text_patterns=tuple(patterns.values()),
        pixels=pixels,
        exclude=tuple(rule for doc in docs for rule in doc.exclude),
        key_source=key_set[1].value if key_set else "ledger",
        source_files=tuple(shown for shown, _data in composed),
    )


def _date_policy(
    result: Composition,
    docs: list[RecipeDocument],
    options: list[str],
    where: dict[str, tuple[RecipeDocument, Located]],
) -> DatePolicy:
    if FULL in options and MODIFIED in options:
        second = FULL if options.index(FULL) > options.index(MODIFIED) else MODIFIED
        doc, located = where[second]
        _error(result, doc, located, f"options {FULL} and {MODIFIED} contradict; choose one")
        return DatePolicy()
    written = _last(docs, "dates")
    if written is None:
        if MODIFIED in options:
            return DatePolicy("shift")
        if FULL in options:
            return DatePolicy("keep")
        return DatePolicy("remove")
    doc, located = written
    mode, low, high = located.value
    wanted = {"shift": MODIFIED, "keep": FULL, "remove": None}[mode]
    for option in (FULL, MODIFIED):
        if option in options and option != wanted:
            odoc, olocated = where[option]
            _error(
                result,
                doc,
                located,
                f"dates policy {mode} contradicts option {option} "
                f"({odoc.path}:{olocated.line}); "
                + (f"use option {wanted}" if wanted else "remove the option or change the policy"),
            )
            return DatePolicy()
    if wanted and wanted not in options:
        options.append(wanted)
        where[wanted] = (doc, located)
    return DatePolicy(mode, low, high)


def _uid_policy(
    result: Composition,
    docs: list[RecipeDocument],
    options: list[str],
    where: dict[str, tuple[RecipeDocument, Located]],
) -> UidPolicy:
    written = _last(docs, "uids")
    if written is None:
        return UidPolicy("keep" if "retain-uids" in options else "remap")
    doc, located = written
    if located.value == "remap" and "retain-uids" in options:
        odoc, olocated = where["retain-uids"]
        _error(
            result,
            doc,
            located,
            f"uids policy remap contradicts option retain-uids ({odoc.path}:{olocated.line})",
        )
        return UidPolicy()
    if located.value == "keep" and "retain-uids" not in options:
        options.append("retain-uids")
        where["retain-uids"] = (doc, located)
    return UidPolicy(located.value)


def safety_net_layer(date_mode: str) -> RuleLayer:
    """Rules by VR for attributes the table does not list (the bottom of every recipe)."""
    layer = RuleLayer(SAFETY_NET)
    date_action = {"remove": "X", "keep": "K", "shift": "C"}[date_mode]
    for vr in VR_NAMES:
        if vr == "PN" or vr == "UN":
            action = "X"
        elif vr == "UI":
            action = "U"
        elif vr in TEXT_VRS:
            action = "C"
        elif vr in DATE_VRS:
            action = date_action
        else:
            action = "K"
        layer.vr[vr] = Rule(action, SAFETY_NET)
    return layer
