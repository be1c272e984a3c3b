"""Find and replace identifiers in free text: the engine's Clean for what no header says.

:func:`redact` replaces each found identifier by a placeholder naming its kind
(``[name]``, ``[date]``, ``[phone]``, ``[email]``, ``[url]``, ``[address]``, ``[id]``), so
"Lives with carer Maria Lopez; prefers morning slots" becomes "Lives with carer [name];
prefers morning slots" and the sentence still reads. Overlapping finds are resolved by
position, then length, then kind (an e-mail before the name inside it).

Full-width Latin (U+FF01-FF5E, as typed under ISO 2022 IR 87) is read as ASCII: the
mapping keeps every offset, so what is found in the folded copy is replaced in the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from deid.text import patterns
from deid.text.names import ROLE_CUES, TITLES, find_names

#: Kinds in the order that wins a tie (same start, same length).
KINDS = ("email", "url", "date", "phone", "address", "id", "name")
#: (kind, finder, what the text must hold for the finder to be tried): every date, phone
#: and ID has a digit, every e-mail an "@", every URL "://" or "www.".
_FINDERS = (
    ("email", patterns.emails, "@"),
    ("url", patterns.urls, "/"),
    ("date", patterns.dates, "digit"),
    ("phone", patterns.phones, "digit"),
    ("address", patterns.addresses, ""),
    ("id", patterns.identifiers, "digit"),
    ("name", find_names, ""),
)
_DIGIT = re.compile(r"\d")
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_PLACEHOLDER = re.compile(r"\[(?:name|date|phone|email|url|address|id)\]")
#: A value without a capital, a digit, "@", "^" or a web address holds nothing the
#: finders look for (names need capitals): it is returned untouched at once.
_QUICK = re.compile(r"[A-Z\d@^\uff10-\uff19\uff21-\uff3a]|www\.|://")
#: ... or a cue word before a lower-case word ("seen by charlotte thompson").
_LOWER_CUE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        sorted((re.escape(c.split()[-1]) for c in ROLE_CUES | TITLES), key=len, reverse=True)
    )
    + r")\s+[^\W\d_]",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t]{2,}")


def fold_width(text: str) -> str:
    """Full-width ASCII variants as ASCII, same length (offsets stay valid)."""
    return text.translate(_FULL_WIDTH)


def find(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) of every identifier found in ``text``."""
    if not text:
        return []
    folded = fold_width(text)
    if not _QUICK.search(folded) and not _LOWER_CUE.search(folded):
        return []
    masked = _PLACEHOLDER.sub(lambda m: " " * len(m.group()), folded)
    found: list[tuple[int, int, int, str]] = []
    digit = _DIGIT.search(masked) is not None
    for rank, (kind, finder, needs) in enumerate(_FINDERS):
        if needs and not (digit if needs == "digit" else needs in masked or "www." in masked):
            continue
        for start, end in finder(masked):
            if end > start:
                found.append((start, -(end - start), rank, kind))
    found.sort()
    out: list[tuple[int, int, str]] = []
    last = -1
    for start, negative, _rank, kind in found:
        end = start - negative
        if start >= last:
            out.append((start, end, kind))
            last = end
    return out


@lru_cache(maxsize=4096)
def redact(text: str) -> str:
    """``text`` with every identifier replaced by its placeholder (see the module docstring).

    Cached: series share their descriptions, so most values are seen many times."""
    spans = find(text)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for start, end, kind in spans:
        gap = text[at:start]
        placeholder = f"[{kind}]"
        if not (parts and parts[-1] == placeholder and not gap.strip()):
            parts += [gap, placeholder]
        at = end  # two names side by side ("[name] [name]") stay one
    parts.append(text[at:])
    return _SPACES.sub(" ", "".join(parts)).strip()
