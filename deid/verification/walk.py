"""Visit every element at every nesting level, iteratively, with a readable path.

Iterative (an explicit stack) because hostile inputs nest sequences hundreds of levels deep
and a recursive walk would turn that into a RecursionError instead of a verdict. An element
whose value pydicom cannot convert is still visited, as its raw element, so a bad value is
scanned as bytes rather than skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

#: Returned by a visitor to say "do not descend into this sequence".
SKIP = object()

#: Bulk pixel-like data: an image, not text; scanning it as bytes only produces noise.
BULK_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0x56000020})


def tag_name(tag: int) -> str:
    """Keyword for standard attributes, ``(gggg,eeee)`` for private and unknown ones."""
    group = tag >> 16
    if group % 2 == 0:
        keyword = keyword_for_tag(tag)
        if keyword:
            return keyword
    return f"({group:04X},{tag & 0xFFFF:04X})"


def elements(dataset: Dataset) -> Iterator[DataElement | RawDataElement]:
    """The elements of one level, converted when pydicom can, raw when it cannot."""
    for tag in sorted(dataset.keys()):
        try:
            yield dataset[tag]
        except Exception:  # a value pydicom cannot convert: hand on the raw element
            yield dataset.get_item(tag)


Visitor = Callable[[str, Any, Dataset, Any], Any]


def walk(dataset: Dataset, visit: Visitor, state: Any = None, paths: bool = True) -> None:
    """Call ``visit(path, element, level_dataset, parent_state)`` for every element.

    The visitor's return value becomes the state passed to the items of that element when
    it is a sequence; return :data:`SKIP` to leave a sequence's items unvisited. With
    ``paths=False`` every path is "" (naming elements is the costly part of a walk).
    """
    stack: list[tuple[Dataset, str, Any]] = [(dataset, "", state)]
    while stack:
        level, prefix, level_state = stack.pop()
        for element in elements(level):
            path = prefix + tag_name(int(element.tag)) if paths else ""
            child_state = visit(path, element, level, level_state)
            if child_state is SKIP or element.VR != "SQ":
                continue
            items = element.value if isinstance(element, DataElement) else None
            if not items:
                continue
            for index in range(len(items) - 1, -1, -1):
                item = items[index]
                if isinstance(item, Dataset):
                    stack.append((item, f"{path}[{index}]." if paths else "", child_state))


def value_strings(element: Any) -> list[str]:
    """The element's value as text, one string per value (empty for sequences and bytes)."""
    if not isinstance(element, DataElement) or element.VR == "SQ":
        return []
    value = element.value
    if value is None or isinstance(value, (bytes, bytearray)):
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value if v is not None and not isinstance(v, (bytes, bytearray))]
    return [str(value)]


def value_bytes(element: Any) -> bytes | None:
    """Undecoded bytes of the element (binary VRs, UN, or a value pydicom could not convert)."""
    value = element.value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return None
