"""Shifting DA and DT values by whole days (Retain Longitudinal ... Modified Dates).

A whole-day shift keeps every interval within a patient, keeps times of day (so TM values
are left as they are) and keeps a DT's time zone offset. Values that cannot be shifted
exactly (malformed dates, DT with only a year or month) become empty: removing a value is
always safe, guessing is not.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from deid.dicom.date_forms import parse_da

_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(.*)$")


def _shift(day: date, days: int) -> str | None:
    try:
        return (day + timedelta(days=days)).strftime("%Y%m%d")
    except OverflowError:
        return None


def shift_da(text: str, days: int) -> str:
    """Shift one DA value (or a DA range "A-B", either end open); "" if not shiftable."""
    text = str(text).strip()
    if not text:
        return ""
    if "-" in text:
        parts = text.split("-")
        if len(parts) != 2:
            return ""
        shifted = [shift_da(p, days) if p.strip() else "" for p in parts]
        if any(p.strip() and not s for p, s in zip(parts, shifted)):
            return ""
        return "-".join(shifted)
    day = parse_da(text)
    if day is None:
        return ""
    return _shift(day, days) or ""


def shift_dt(text: str, days: int) -> str:
    """Shift the date part of a DT, keeping its time, fraction and UTC offset verbatim."""
    text = str(text).strip()
    if not text:
        return ""
    if "-" in text and not re.search(r"[+-]\d{4}$", text):
        parts = text.split("-")  # a DT range
        if len(parts) == 2:
            shifted = [shift_dt(p, days) if p.strip() else "" for p in parts]
            if any(p.strip() and not s for p, s in zip(parts, shifted)):
                return ""
            return "-".join(shifted)
    match = _DT.match(text)
    if not match:
        return ""
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return ""
    moved = _shift(day, days)
    return moved + match[4] if moved else ""


__all__ = ["parse_da", "shift_da", "shift_dt"]
