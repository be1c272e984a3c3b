"""Errors the engine raises for a file that must not be written, and value-free messages.

The pipeline records ``QuarantineError.reason`` in the ledger, so a reason must describe
*why* in a single line and must never quote an element's value (values are identifying).
:func:`value_free` is the one place that blanks quoted values out of exception texts
(pydicom, numpy and codec messages quote the values they choke on); the pipeline's
``describe_error`` and the engine's reasons both go through it.
"""

from __future__ import annotations

import re

#: An apostrophe inside a word ("can't", "doesn't"): not the start of a quoted value.
_APOSTROPHE = re.compile(r"(?<=[A-Za-z])'(?=[A-Za-z])")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
#: A bytes literal as repr() writes it (b'...' or b"..."): blanked before apostrophes are
#: looked for, since its b' looks like one.
_BYTES = re.compile(r"(?<![\w'\"])b(?:'[^']*'|\"[^\"]*\")")
_QUOTE = re.compile(r"[\"']")
BLANK = "'…'"


def value_free(message: str) -> str:
    """``message`` on one line with every quoted value blanked.

    Apostrophes inside words are kept as typographic ones so they cannot pair with the
    quote that opens a value ("can't read 'DOE'" must not leave ``DOE'`` behind); a quote
    left unpaired after blanking starts a value that runs to the end, so the rest goes.
    """
    text = " ".join(str(message).split())
    text = _BYTES.sub(BLANK, text)
    text = _APOSTROPHE.sub("\u2019", text)
    text = _QUOTED.sub(BLANK, text)
    stray = _QUOTE.search(text.replace(BLANK, "\x00" * len(BLANK)))
    if stray is not None:
        text = text[: stray.start()] + BLANK
    return text


class QuarantineError(Exception):
    """This dataset cannot be made safe; quarantine it instead of writing it."""

    def __init__(self, reason: str) -> None:
        reason = " ".join(str(reason).split())  # one line, whatever the caller passed
        super().__init__(reason)
        self.reason = reason
