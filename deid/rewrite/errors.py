"""Errors the engine raises for a file that must not be written.

The pipeline records ``QuarantineError.reason`` in the ledger, so a reason must describe
*why* in a single line and must never quote an element's value (values are identifying).
"""

from __future__ import annotations


class QuarantineError(Exception):
    """This dataset cannot be made safe; quarantine it instead of writing it."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(str(reason).split())  # one line, whatever the caller passed
        super().__init__(reason)
        self.reason = reason
