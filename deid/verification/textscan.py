"""The gate's own eyes on kept free text: names and identifiers no header states.

Independent of the engine's decision (a gate that asks the engine whether the engine did
well checks nothing): its own rules, written apart from :mod:`deid.text.names` and
:mod:`deid.text.patterns` and stricter where they differ; only data is shared (the word
lists of :mod:`deid.text.vocabulary`: listed names, words of languages, words of medicine;
the cue and title words of :mod:`deid.text.names`) and the rule for which values are free
text (:func:`deid.text.scope.is_free_text`, so the gate reads exactly the values the
engine had to clean). A finding says the kind, never the value.

Reported kinds:

* ``text-name``: a title before a capitalised token that is no word of medicine; a role
  cue before a listed name, an initial and a name, a token that is no word of medicine or
  of a language, or (in lower case) a listed name that is no word; ``Family^Given``;
  ``FAMILY, Given`` / ``Family, G.``; a listed given name beside a listed name part or an
  ``O'``/``Mc`` surname; particles before a capitalised token after a name ("de la Cruz");
  a capitalised ``O'Brien``/``McDonald``/``MacLeod``; a capitalised listed name that is no
  word of any language, of medicine or of the text's own language.
* ``text-email``, ``text-url``; ``text-phone`` (seven digits or more in a phone shape);
  ``text-date`` (a calendar date in digits or with a month name, a year with a month);
  ``text-id`` (an ID cue before a code with digits, or a code of letters and five digits);
  ``text-address`` (a house number and a street word, a street name with a number, a UK
  postcode).

Placeholders the engine writes (``[name]`` ...) are skipped.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydicom.dataset import Dataset

from deid.rewrite.engine import CODED_TAGS
from deid.text import names
from deid.text import vocabulary as vocab
from deid.text.finder import fold_width
from deid.text.patterns import MONTHS
from deid.text.scope import is_free_text
from deid.verification.findings import Finding
from deid.verification.walk import value_strings, walk

_PLACEHOLDER = re.compile(r"\[(?:name|date|phone|email|url|address|id)\]")
_WORDS = re.compile(r"[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*(?:\.(?:ssa|ª)(?!\w))?\.?")
_TITLES = frozenset(t.rstrip(".") for t in names.TITLES)
_AMBIGUOUS = frozenset({"MR", "MS", "DR", "MRS", "SR", "FR", "HR"})
_CUES = frozenset(c for c in names.ROLE_CUES if " " not in c)
_CUE_PHRASES = frozenset(c for c in names.ROLE_CUES if " " in c)
_PARTICLES = names.PARTICLES
_STARTERS = (
    _CUES | _TITLES | {t.casefold() for t in _TITLES} | {c.split()[-1] for c in _CUE_PHRASES}
)
_GAELIC = re.compile(r"^(?:O['’]|Mc|Mac(?=[A-Z]))[A-Z][a-z]{2,}$")
_GAELIC_LOWER = re.compile(r"^(?:o['’]|mc|mac)[a-z]{3,}$")
_CARET = re.compile(r"(?<![\w^])[^\W\d_][\w'’ -]*\^[^\W\d_^][\w'’ -]*")
_COMMA = re.compile(r"(?<![\w'’])([^\W\d_][\w'’-]+),[ \t]*([^\W\d_][\w'’-]*\.?)(?![\w'’])")
_EMAIL = re.compile(r"[\w.+'’-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w.,/-])(?:\+|00)?\(?\d[\d ()./-]{5,}\d(?![\w/-]|\.\d)")
_PHONE_CUE = re.compile(
    r"(?:tel|tél|phone|ph|mob|mobile|cell|fax|telefon|teléfono|telefono|bleep|pager|ext)"
    r"\.?:?\s*$",
    re.IGNORECASE,
)
_ID_CUE = re.compile(
    r"(?<!\w)(?:MRN|NHS|PID|ID|No|Nr|Number|Accession|Acc|Ref|Hosp(?:ital)?|Chart|Record|"
    r"Case|Study|Dossier|Fall|#)\.?(?:\s*(?:no\.?|nr\.?|number|#))?\s*[:#]?\s*"
    r"[A-Z]{0,3}-?\d[\dA-Z/-]{3,}",
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<![\w.,-])(?=[A-Za-z0-9/-]*[A-Za-z])(?:[A-Za-z0-9/-]*\d){5,}[A-Za-z0-9/-]*")
_LONG_NUMBER = re.compile(r"(?<![\d.,])\d{7,}(?![\d]|[.,]\d)")
_MEASURE = re.compile(r"^\d+(?:x\d+)+$|^[a-z]\d{1,4}$", re.IGNORECASE)
_MONTHS = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_NUMERIC_DATE = re.compile(
    r"(?<![\d.,/-])(?:(\d{4})[./-](\d{1,2})[./-](\d{1,2})"
    r"|(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2}))(?![\d/-]|\.\d)"
)
_MONTH_DATE = re.compile(
    rf"(?<!\w)(?:\d{{1,2}}(?:st|nd|rd|th|er|e|º)?\.?[\s/-]*(?:of\s+|de\s+)?(?:{_MONTHS})\.?"
    rf"(?:[\s,/-]+(?:de\s+)?(?:\d{{4}}|\d{{2}}))?(?!\w)"
    rf"|(?:{_MONTHS})\.?[\s/-]+\d{{1,2}}(?:st|nd|rd|th)?,?[\s/-]+\d{{2,4}}(?!\d)"
    rf"|(?:{_MONTHS})\.?,?\s+(?:19|20)\d{{2}}(?!\d))",
    re.IGNORECASE,
)
_STREET = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|court|ct|place|pl|crescent|"
    r"boulevard|blvd|terrace|gardens|square|sq|grove|row|walk|mews|hill|park|parade|highway|"
    r"hwy"
)
_ADDRESS = re.compile(
    rf"(?<!\w)\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'.-]*\s+){{1,4}}(?i:{_STREET})\b"
    r"|(?<!\w)[A-ZÄÖÜ][\wäöüßé-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|laan|straat|"
    r"gracht|plein|singel|kade|vej|gatan|gata|vägen|väg)\s*\d{1,4}"
    r"|(?<!\w)\d{1,4}[a-z]?,?\s+[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|weg|gasse|platz|allee|"
    r"laan|straat|gracht|gatan|gata|vägen)(?!\w)"
    r"|(?<!\w)(?i:rue|avenue|av\.|bd|boulevard|chemin|allée|via|viale|piazza|corso|calle|"
    r"avenida|avda|paseo|plaza|rua|praça|travessa|ulica|ul\.)\s+(?:[\w'’-]+\s+){0,4}?"
    r"\d{1,4}[a-z]?\b"
    r"|(?<!\w)\d{1,4}[a-z]?,?\s+(?i:rue|avenue|boulevard|chemin|allée|via|calle|rua)\s+\w"
    r"|(?<!\w)[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}(?!\w)",
)


def _word(token: str) -> bool:
    """A word of medicine or of a language: no name by what it is."""
    return vocab.is_medical(token) or vocab.is_language_word(token)


def _gaelic(token: str) -> bool:
    return bool(_GAELIC.match(token)) or (
        token.isupper() and len(token) > 4 and bool(_GAELIC.match(token[:2] + token[2:].lower()))
    )


def _initial(token: str) -> bool:
    bare = token.rstrip(".")
    return len(bare) == 1 and bare.isupper()


def _acronym(token: str) -> bool:
    return token.isupper() and len(token) <= 3


def _named(token: str) -> bool:
    """After a cue: a listed name part, an ``O'``/``Mc`` name, or no word at all."""
    bare = token.rstrip(".")
    if not bare[:1].isupper() or bare in _TITLES or bare.casefold() in _TITLES:
        return False
    if _acronym(bare):
        return False
    return vocab.is_name_part(bare) or _gaelic(bare) or not _word(bare)


def _lower_named(token: str, following: str) -> bool:
    """After a cue, in lower case: a listed name that is no word, or two listed names."""
    if not token.islower() or len(token) < 3 or vocab.is_medical(token):
        return False
    if not vocab.name_role(token):
        return False
    if not vocab.is_language_word(token) and vocab.zipfs(token)[0] < 4.5:
        return True
    nxt = following.rstrip(".")
    return (
        nxt.islower()
        and len(nxt) >= 3
        and bool(vocab.name_role(nxt))
        and (vocab.zipfs(nxt)[0] < 5.5)
    )


def _own_language(tokens: list[str]) -> int:
    votes = [0] * len(vocab.LANGUAGES)
    for token in tokens:
        if token.islower() and len(token) >= 3 and token.isalpha():
            z = vocab.zipfs(token)
            if max(z) >= 3.0:
                votes[z.index(max(z))] += 1
    return votes.index(max(votes)) if max(votes) else -1


def _head(token: str) -> bool:
    return token.casefold() in names.EPONYM_HEADS or bool(
        names._EPONYM_SUFFIX.search(token.casefold())
    )


def _alone(token: str, first: bool, caps: bool, lang: Any, german: bool) -> bool:
    """A capitalised token that is a name by what it is, wherever it stands."""
    bare = token.rstrip(".")
    if len(bare) < 3 or not bare[:1].isupper():
        return False
    if _gaelic(bare):
        return True
    if vocab.is_medical(bare) or vocab.is_eponym(bare) or (bare.isupper() and len(bare) < 4):
        return False
    role = vocab.name_role(bare)
    if not role:
        return False
    if german and vocab.zipfs(bare)[1] >= 3.0:
        return False
    if not vocab.is_language_word(bare):
        return True
    # A listed name that is a word elsewhere, in text of another language ("Chiara" in
    # English text); not at a sentence start or in capitals, where capitals say nothing.
    if first or caps:
        return False
    index = lang()
    return index >= 0 and vocab.zipfs(bare)[index] < 3.5


def _name_found(text: str) -> bool:
    """True when the gate's name rules see a person's name in ``text``."""
    if _CARET.search(text):
        return True
    for m in _COMMA.finditer(text):
        family, given = m.group(1), m.group(2)
        if not (family[:1].isupper() and given[:1].isupper()) or vocab.is_medical(family):
            continue
        if (_acronym(family) and not (vocab.name_role(family) and _initial(given))) or _head(given):
            continue
        bare = given.rstrip(".")
        given_ok = (
            _initial(given)
            if len(bare) == 1
            else ("g" in vocab.name_role(bare) and not vocab.is_medical(bare))
        )
        family_ok = (
            vocab.name_role(family) or _gaelic(family) or not _word(family) or family.isupper()
        )
        if given_ok and family_ok:
            return True
    tokens = [m.group() for m in _WORDS.finditer(text)]
    spans = [m.span() for m in _WORDS.finditer(text)]
    n = len(tokens)
    if not n:
        return False
    letters = [c for c in text if c.isalpha()]
    caps = sum(c.isupper() for c in letters) > 0.8 * len(letters)
    german = any(t.casefold() in names.NOUN_CAPITALISING for t in tokens)
    known: list[int] = []

    def lang() -> int:  # worked out only when a rule asks (it loads the word lists)
        if not known:
            known.append(-1 if caps else _own_language(tokens))
        return known[0]

    def joined(i: int) -> bool:
        return 0 < i < n and text[spans[i - 1][1] : spans[i][0]].strip() == ""

    for i, token in enumerate(tokens):
        folded = token.casefold()
        if not token[:1].isupper() and folded.rstrip(".") not in _STARTERS:
            continue  # a lower-case word that is no cue: nothing starts here
        bare = token.rstrip(".")
        nxt = tokens[i + 1] if joined(i + 1) else ""
        after = tokens[i + 2] if nxt and joined(i + 2) else ""
        # skip particles after the cue ("spouse van den Berg")
        k = i + 1
        while k < n and joined(k) and tokens[k].casefold() in _PARTICLES and joined(k + 1):
            k += 1
        target = tokens[k] if k < n and joined(k) else ""
        title = bare in _TITLES or folded.rstrip(".") in _TITLES
        phrase = i >= 1 and joined(i) and f"{tokens[i - 1].casefold()} {folded}" in _CUE_PHRASES
        cue = folded in _CUES or phrase
        if (
            title
            and target
            and not (bare in _AMBIGUOUS and not caps)
            and target[:1].isupper()
            and not vocab.is_medical(target.rstrip("."))
            and (not _acronym(target.rstrip(".")) or caps)
        ):
            return True
        if (title or cue) and target:
            following = tokens[k + 1] if k + 1 < n and joined(k + 1) else ""
            if _named(target) and not (following and _head(following)):
                return True
            if _initial(target) and following[:1].isupper() and not _word(following.rstrip(".")):
                return True
            if _initial(target) and following and vocab.is_name_part(following.rstrip(".")):
                return True
            if _lower_named(target, following):
                return True
            if _initial(target) and following.casefold() in _PARTICLES:
                return True  # "by D. de Jong"
            if target.isupper() and following and _initial(following) and len(target) >= 2:
                return True  # "by EZE A", "by VAN DAM M"
            if (
                target.isalpha()
                and target.islower()
                and len(target) >= 3
                and (following in _PARTICLES or _GAELIC_LOWER.match(following))
            ):
                return True  # "spouse callum o'brien", "inés de los santos"
        if not bare[:1].isupper():
            continue
        first = i == 0 or any(c in ".;:!?" for c in text[spans[i - 1][1] : spans[i][0]])
        nb = nxt.rstrip(".")
        if nb and nb[:1].isupper() and not (after and _head(after)):
            # a listed given name beside a listed name part or an O'/Mc surname
            if (
                "g" in vocab.name_role(bare)
                and not vocab.is_medical(bare)
                and (_gaelic(nb) or (vocab.is_name_part(nb) and vocab.is_name_part(bare)))
            ):
                return True
            if (
                _initial(token)
                and token.endswith(".")
                and len(nb) >= 2
                and (vocab.is_name_part(nb) or not _word(nb))
            ):
                return True
        if nxt and nxt.casefold() in _PARTICLES and "g" in vocab.name_role(bare):
            bare_target = target.rstrip(".")
            if (
                k > i + 1
                and target[:1].isupper()
                and not vocab.is_medical(bare_target)
                and bare_target not in _TITLES
                and bare_target.casefold() not in _TITLES
            ):
                return True
        if _alone(token, first, caps, lang, german) and not (nxt and _head(nxt)):
            return True
    return False


def _valid(a: int, b: int, year: int) -> bool:
    if year < 100:
        year += 2000
    if not 1850 <= year <= 2200:
        return False
    for d, m in ((a, b), (b, a)):
        try:
            date(year, m, d)
            return True
        except ValueError:
            continue
    return False


_MONTH_YEAR = re.compile(
    r"(?<![\d.,/:-])(?:(?:0?[1-9]|1[0-2])[/.-](?:19|20)\d{2}|(?:19|20)\d{2}[/-](?:0[1-9]|1[0-2]))"
    r"(?![\d/:-]|\.\d)"
)


def _dates(text: str) -> bool:
    if _MONTH_DATE.search(text) or _MONTH_YEAR.search(text):
        return True
    for m in _NUMERIC_DATE.finditer(text):
        g = m.groups()
        if g[0] and _valid(int(g[2]), int(g[1]), int(g[0])):
            return True
        if g[3] and _valid(int(g[3]), int(g[4]), int(g[5])):
            return True
    return False


def _phones(text: str) -> bool:
    for m in _PHONE.finditer(text):
        body = m.group()
        digits = sum(c.isdigit() for c in body)
        cued = bool(_PHONE_CUE.search(text[max(0, m.start() - 12) : m.start()]))
        shaped = body[0] in "+(0" or "-" in body or " " in body.strip()
        if (digits >= 7 and shaped) or digits >= 9 or (cued and digits >= 5):
            return True
    return False


def _ids(text: str) -> bool:
    if _ID_CUE.search(text) or _LONG_NUMBER.search(text):
        return True
    return any(not _MEASURE.match(m.group()) for m in _CODE.finditer(text))


#: Nothing any rule looks for: no capital, digit, "@", "^" or web address (names in lower
#: case need a cue word, checked by the second test).
_QUICK = re.compile(r"[A-Z\d@^]|www\.|://")
_LOWER_CUE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(sorted(map(re.escape, _CUES | _TITLES), key=len, reverse=True))
    + r")\s+[^\W\d_]{3,}",
    re.IGNORECASE,
)


def text_kinds(text: str) -> set[str]:
    """The kinds of identifier the gate sees in one free-text value."""
    # A placeholder parts the words around it ("Dr [name] pour": "Dr" is not before "pour").
    text = fold_width(_PLACEHOLDER.sub(" \x00 ", text))
    if not _QUICK.search(text) and not _LOWER_CUE.search(text):
        return set()
    kinds: set[str] = set()
    if _EMAIL.search(text):
        kinds.add("text-email")
    if _URL.search(text):
        kinds.add("text-url")
    if _phones(text):
        kinds.add("text-phone")
    if _dates(text):
        kinds.add("text-date")
    if _ids(text):
        kinds.add("text-id")
    if _ADDRESS.search(text):
        kinds.add("text-address")
    if _name_found(text):
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
