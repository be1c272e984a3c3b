"""The gate's own eyes on kept free text: names and identifiers no header states.

Independent of the engine's decision (a gate that asks the engine whether the engine did
well checks nothing): its own, stricter rules, only the vocabulary is shared
(:mod:`deid.text.vocabulary`: listed names, words of languages, words of medicine) and the
rule for which values are free text (:func:`deid.text.scope.is_free_text`, so the gate
reads exactly the values the engine had to clean). A finding says the kind, never the value.

Reported kinds: ``text-name`` (a title before a capitalised token that is no word of
medicine; a role cue before a listed name part or a token that is no word of medicine or
of a language; ``Family^Given``; a listed given name and surname side by side, neither a
frequent English word nor a word of medicine), ``text-email``, ``text-url``,
``text-phone`` (nine digits or more, starting with ``+`` or ``0``), ``text-date`` (a
calendar date with a four-digit year, or a month name with a year) and ``text-id``
(MRN / NHS / ID / ... and five digits or more). Placeholders the engine writes
(``[name]`` ...) are skipped.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydicom.dataset import Dataset

from deid.rewrite.engine import CODED_TAGS
from deid.text import vocabulary as vocab
from deid.text.patterns import MONTHS
from deid.text.scope import is_free_text
from deid.verification.findings import Finding
from deid.verification.walk import value_strings, walk

_PLACEHOLDER = re.compile(r"\[(?:name|date|phone|email|url|address|id)\]")
_TITLE = re.compile(
    r"(?<!\w)(?:Dr|Mr|Mrs|Ms|Prof|Herr|Frau|Mme|Mlle|Sra|Dra|Dott|Dhr|Mevr|Nurse|Sister)"
    r"\.?\s+([^\W\d_][\w'-]+)",
    re.IGNORECASE,
)
_TITLE_WORD = re.compile(
    r"Dr|Mr|Mrs|Ms|Miss|Prof|Professor|Doctor|Herr|Frau|Mme|Mlle|Sra|Dra|Dott|Dhr|Mevr|"
    r"Nurse|Sister",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"(?<!\w)(?:witnessed by|referred by|reported by|dictated by|signed by|seen by|"
    r"spouse|husband|wife|carer|caregiver|guardian|daughter|son|mother|father|"
    r"discussed with|ehefrau|ehemann|betreuer(?:in)?|épouse|époux|esposa|esposo|moglie|"
    r"marito|echtgenote|echtgenoot|mantelzorger)\s+([^\W\d_][\w'-]+)",
    re.IGNORECASE,
)
_CARET = re.compile(r"(?<![\w^])[^\W\d_]{2,}\^[^\W\d_]{2,}")
_PAIR = re.compile(r"(?<!\w)([A-Z][a-z'-]{2,})\s+([A-Z][a-z'-]{2,})(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w])(?:\+|0)\d[\d ()/.-]{7,}\d(?![\w])")
_ID = re.compile(r"(?<!\w)(?:MRN|NHS|PID|ID|Hosp(?:ital)? No)\.?\s*[:#]?\s*[A-Z]{0,3}\d{5,}", re.I)
_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})[./-](\d{1,2})[./-]((?:19|20)\d{2})(?![\d])")
_MONTH_DATE = re.compile(
    rf"(?<!\w)(?:{'|'.join(sorted(map(re.escape, MONTHS), key=len, reverse=True))})\.?\s+"
    r"(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?(?:19|20)\d{2}(?!\d)",
    re.IGNORECASE,
)


def _no_word(token: str) -> bool:
    return not vocab.is_medical(token) and not vocab.is_language_word(token)


def _named(token: str) -> bool:
    """After a role cue: a listed name part, or no word of medicine or of a language (a
    title is no name: "reported by Prof. [name]")."""
    if _TITLE_WORD.fullmatch(token):
        return False
    return vocab.is_name_part(token) or _no_word(token)


def _valid(day: int, month: int, year: int) -> bool:
    for d, m in ((day, month), (month, day)):
        try:
            date(year, m, d)
            return True
        except ValueError:
            continue
    return False


def text_kinds(text: str) -> set[str]:
    """The kinds of identifier the gate sees in one free-text value."""
    text = _PLACEHOLDER.sub(" ", text)
    kinds: set[str] = set()
    if _EMAIL.search(text):
        kinds.add("text-email")
    if _URL.search(text):
        kinds.add("text-url")
    if any(sum(c.isdigit() for c in m.group()) >= 9 for m in _PHONE.finditer(text)):
        kinds.add("text-phone")
    if _ID.search(text):
        kinds.add("text-id")
    if _MONTH_DATE.search(text) or any(
        _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        for m in _NUMERIC_DATE.finditer(text)
    ):
        kinds.add("text-date")
    if _CARET.search(text):
        kinds.add("text-name")
    for m in _TITLE.finditer(text):
        if m.group(1)[0].isupper() and not vocab.is_medical(m.group(1)):
            kinds.add("text-name")
    for m in _ROLE.finditer(text):
        token = m.group(1)
        if token[0].isupper() and not (token.isupper() and len(token) <= 3) and _named(token):
            kinds.add("text-name")
    for m in _PAIR.finditer(text):
        given, family = m.group(1), m.group(2)
        if (
            "g" in vocab.name_role(given)
            and "s" in vocab.name_role(family)
            and vocab.is_name_part(given)
            and vocab.is_name_part(family)
            and not vocab.is_medical(given)
            and not vocab.is_medical(family)
        ):
            kinds.add("text-name")
    return kinds


def scan_free_text(dataset: Dataset, recipe: Any, relpath: str) -> list[Finding]:
    """Findings for every free-text value of the output (standard attributes the recipe
    cleans as free text, at any depth) in which the gate sees a name or an identifier."""
    findings: list[Finding] = []

    def visit(path: str, element: Any, level: Dataset, state: Any) -> Any:
        tag = int(element.tag)
        vr = element.VR or "UN"
        if (tag >> 16) % 2 == 1 or vr == "SQ" or tag in CODED_TAGS:
            return None
        rule = recipe.rule_for(tag, vr)
        if rule is None or rule.action != "C" or not is_free_text(rule, vr):
            return None
        kinds: set[str] = set()
        for text in value_strings(element):
            kinds |= text_kinds(text)
        findings.extend(Finding(relpath, path, kind) for kind in sorted(kinds))
        return None

    walk(dataset, visit)
    return findings
