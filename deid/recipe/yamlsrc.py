"""YAML read as *nodes*, so every value keeps its line and column.

Why not ``yaml.safe_load``: it forgets positions and silently lets a later duplicate key win,
which in a recipe means two rules for one attribute and the first one quietly ignored. We
compose the node tree (libyaml when available), report duplicates, and convert scalars with
PyYAML's own safe constructor so types match what users expect from YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

#: See :attr:`Diagnostic.kind`.
DiagnosticKind = Literal["shape", "meaning", "syntax"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem, printed as ``path:line:column: message`` (1-based, as editors count)."""

    path: str
    line: int
    column: int
    message: str
    #: ``shape``: the JSON Schema finds it too (a key, type, choice, bound or pattern);
    #: ``meaning``: only ``deid validate`` can (dictionary, VR fit, files, contradictions);
    #: ``syntax``: the YAML itself.
    kind: DiagnosticKind = field(default="meaning", compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "kind": self.kind,
        }


def load_node(text: str, path: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    """The document's root node, or the YAML syntax error as a diagnostic."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or error.context or "invalid YAML"
        context = error.context_mark
        if error.problem and error.context and context and context is not mark:
            problem += f" ({error.context} at line {context.line + 1})"
        return None, [Diagnostic(path, line, column, f"YAML syntax error: {problem}", "syntax")]
    except yaml.YAMLError as error:
        return None, [Diagnostic(path, 1, 1, f"YAML error: {error}", "syntax")]
    return node, duplicate_keys(node, path) if node is not None else []


def duplicate_keys(node: yaml.Node, path: str) -> list[Diagnostic]:
    """Every key that appears twice in one mapping, at the second occurrence."""
    found: list[Diagnostic] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        found.append(
                            Diagnostic(
                                path,
                                *pos(key),
                                f'duplicate key "{key.value}" (first at line {seen[key.value]}): '
                                "two rules for the same entry; keep one",
                                "syntax",
                            )
                        )
                    else:
                        seen[key.value] = key.start_mark.line + 1
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(found)


def pos(node: yaml.Node) -> tuple[int, int]:
    """1-based (line, column) where a node starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def value(node: yaml.Node) -> Any:
    """The plain Python value of a node (scalars typed as YAML says).

    A scalar PyYAML cannot construct (an unknown tag like ``!foo x``, YAML 1.1's ``=``,
    ``!!int abc``) is its text as written, so the checker reports it as a value of the wrong
    kind, with its position, instead of failing with a traceback."""
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except Exception:  # ValueError, KeyError, ...: all mean "not typed"
        if isinstance(node, yaml.ScalarNode):
            return node.value
        raise


def kind(node: yaml.Node) -> str:
    """A word for error messages: mapping, list, or the scalar's type."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    plain = value(node)
    if plain is None:
        return "empty"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text"}.get(
        type(plain), type(plain).__name__
    )
