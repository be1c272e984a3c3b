"""Dates: the DICOM DA form, and the spellings people type a date in free text.

The engine removes a dataset's own dates from its free text in every spelling of
:func:`date_patterns`; verify searches outputs for the same spellings (the pattern over
decoded text, the common literal spellings of :func:`date_spellings` in bytes, paths and
other encodings). One grammar for both, so a spelling the engine learns to remove is a
spelling the gate looks for (``tests/verify/test_verify_vocabulary.py`` proves it).

Spellings (month names in English): 20240131; year first with ``-``, ``/``, ``.`` or a
space between the parts (2024-01-31, 2024/1/31); day first and month first, with a four-
or two-digit year (31/01/2024, 31/1/24, 01/31/2024, 1.31.24); leading zeros optional;
Jan 31 2024, Jan. 31, 2024, January 31st, 2024, 31 Jan 2024, 31st January, 2024.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
#: The three-letter abbreviations (Jan ... Dec).
MONTH_ABBREVIATIONS = tuple(name[:3] for name in MONTH_NAMES)

_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# ACR-NEMA style "2024.01.31" appears in old files; accept it and write the DICOM form.
_DA_DOTTED = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})$")
_SEPARATOR = r"[-/. ]"
#: Around a date spelling: no digit on either side (20240131 is not in 120240131).
DIGIT_EDGES = (r"(?<![0-9])", r"(?![0-9])")


def parse_da(text: str) -> date | None:
    """A DA string as a date, or None when it is not a valid calendar date."""
    text = text.strip()
    match = _DA.match(text) or _DA_DOTTED.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def date_of(value: str) -> date | None:
    """The calendar date of a DA value or of a DT's date part (its first 8 digits)."""
    digits = value.strip()[:8]
    if len(digits) != 8 or not digits.isdigit() or not digits.isascii():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def date_patterns(day: date) -> list[str]:
    """Regex alternatives for ``day`` in every spelling of the module docstring (match
    case-insensitively, between :data:`DIGIT_EDGES`)."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    yy = y[2:]
    m1, d1 = str(day.month), str(day.day)
    sep = _SEPARATOR
    out = [
        y + m + d,
        f"{y}{sep}0?{m1}{sep}0?{d1}",
        f"0?{d1}{sep}0?{m1}{sep}(?:{y}|{yy})",
        f"0?{m1}{sep}0?{d1}{sep}(?:{y}|{yy})",
    ]
    full = MONTH_NAMES[day.month - 1]
    month = f"(?:{full}|{full[:3]}\\.?)"
    out.append(f"{month}\\s+0?{d1}(?:st|nd|rd|th)?,?\\s+{y}")
    out.append(f"0?{d1}(?:st|nd|rd|th)?\\s+{month},?\\s+{y}")
    return out


@lru_cache(maxsize=1024)
def date_regex(days: tuple[date, ...]) -> re.Pattern[str] | None:
    """One case-insensitive regex for every spelling of every date in ``days``. Cached:
    the files of one patient or study share their dates."""
    alternatives = sorted(
        {a for day in days for a in date_patterns(day)}, key=lambda a: (-len(a), a)
    )
    if not alternatives:
        return None
    left, right = DIGIT_EDGES
    return re.compile(f"{left}(?:{'|'.join(alternatives)}){right}", re.IGNORECASE)


def date_spellings(day: date) -> list[str]:
    """The common literal spellings of ``day`` (each one matched by :func:`date_patterns`):
    the forms searched where a pattern cannot go (bytes in other encodings, paths)."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    mon, month = MONTH_ABBREVIATIONS[day.month - 1], MONTH_NAMES[day.month - 1]
    return [
        f"{y}{m}{d}",
        f"{y}-{m}-{d}",
        f"{y}/{m}/{d}",
        f"{y}.{m}.{d}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d}.{m}.{y}",
        f"{d}-{m}-{y}",
        f"{mon} {day.day} {y}",
        f"{day.day} {mon} {y}",
        f"{month} {day.day}, {y}",
    ]
