"""Which cleaned values are free text, where names no header states are searched.

A Clean (C) that a profile, an option or a recipe writes for an attribute (Clean
Descriptors, Clean Structured Content: descriptions, comments, SR Text Value) is free text.
The VR safety net's C on an attribute no table lists (Manufacturer, a model name, a
software version) is not, unless the VR itself holds prose (LT, ST, UT, UC): "Avanto" is
a scanner, not a person, and a model name replaced by ``[name]`` would be damage. The
engine and the gate use this one rule, so the gate scans exactly what the engine cleans.
"""

from __future__ import annotations

from typing import Any

# Text VRs whose values Clean keeps and cleans: the vocabulary's (re-exported from here).
from deid.dicom.vrs import TEXT_VRS

#: Text VRs that hold prose whatever rule cleans them.
PROSE_VRS = frozenset({"ST", "LT", "UT", "UC"})


def is_free_text(rule: Any, vr: str) -> bool:
    """True when a C ``rule`` on a value of ``vr`` cleans free text (see the docstring)."""
    if vr not in TEXT_VRS:
        return False
    return vr in PROSE_VRS or getattr(rule.origin, "layer", "") != "safety-net"


__all__ = ["PROSE_VRS", "TEXT_VRS", "is_free_text"]
