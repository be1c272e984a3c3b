"""Identifiers with a shape: e-mail addresses, URLs, dates in any spelling, phone numbers,
street addresses and IDs that mix letters and digits.

Each is a regular expression plus, where the shape alone over-matches clinical text, a
check on the match (a date must be a calendar date; a phone number needs seven digits; an
ID needs four digits and is no measurement such as ``120kVp`` or ``b1000``). Month names
are those of English, German, French, Spanish, Italian, Dutch, Portuguese and Swedish.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from deid.dicom.date_forms import MONTH_ABBREVIATIONS, MONTH_NAMES

#: English month names and abbreviations are the vocabulary's (:mod:`deid.dicom.date_forms`).
MONTHS = (
    *(name.lower() for name in (*MONTH_NAMES, *MONTH_ABBREVIATIONS)),
    "sept",
    *(  # noqa: SIM905 (one line per language reads better)
        # de
        "januar jänner februar märz mai juni juli oktober dezember okt dez "
        # fr
        "janvier février fevrier mars avril juin juillet août aout septembre octobre novembre "
        "décembre decembre janv févr fevr avr juil sept déc "
        # es / pt
        "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
        "noviembre diciembre ene abr ago dic janeiro fevereiro março marco maio junho julho "
        "setembro outubro novembro dezembro fev set out "
        # it
        "gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre gen mag giu "
        "lug ott "
        # nl / sv
        "januari februari maart juni augustus oktober mei mrt okt mars maj augusti"
    ).split(),
)
_MONTH = "(?:" + "|".join(sorted({re.escape(m) for m in MONTHS}, key=len, reverse=True)) + ")"
_ORD = r"(?:st|nd|rd|th|er|e|º|ª)?"

EMAIL = re.compile(r"[\w.+'’-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"']+", re.IGNORECASE)
_DATE_WORDS = re.compile(
    rf"(?<!\w)(?:\d{{1,2}}{_ORD}\.?\s*(?:of\s+|de\s+|del\s+)?{_MONTH}\.?,?\s*(?:de\s+|del\s+)?"
    rf"(?:\d{{4}}|'?\d{{2}})(?!\d)"
    rf"|{_MONTH}\.?\s+\d{{1,2}}{_ORD},?\s+(?:\d{{4}}|'\d{{2}})(?!\d)"
    rf"|{_MONTH}\.?,?\s+\d{{4}}(?!\d)"
    rf"|\d{{1,2}}{_ORD}\.?\s+(?:of\s+|de\s+)?{_MONTH}(?!\w))",
    re.IGNORECASE,
)
_DATE_DASHED = re.compile(
    rf"(?<![\w-])(?:\d{{1,2}}[-/.]{_MONTH}[-/.](?:\d{{4}}|\d{{2}})"
    rf"|{_MONTH}[-/.]\d{{1,2}}[-/.,]\s*\d{{4}}|\d{{4}}[-/.]{_MONTH}[-/.]\d{{1,2}})(?![\w-])",
    re.IGNORECASE,
)
_DATE_NUMERIC = re.compile(
    r"(?<![\d.,/:-])(?:(\d{4})([./-])(\d{1,2})\2(\d{1,2})"
    r"|(\d{1,2})([./-])(\d{1,2})\6(\d{4}|\d{2}))(?![\d/:-]|\.\d)"
)
#: Month and year in digits ("03/2021", "2021-03"), and a month name with a day but no
#: year ("May 3rd", "March 14"; "May" only with an ordinal: "may 3 ..." is a verb).
_MONTH_YEAR = re.compile(
    r"(?<![\d.,/:-])(?:(?:0?[1-9]|1[0-2])[/.-](?:19|20)\d{2}|(?:19|20)\d{2}[/-](?:0[1-9]|1[0-2]))"
    r"(?![\d/:-]|\.\d)"
)
_MONTH_DAY = re.compile(
    rf"(?<!\w)(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)|"
    r"(?:january|february|march|april|june|july|august|september|october|november|december)"
    r"\s+\d{1,2})(?![\w.,]\d|\d|\s*(?:mm|cm|ml|mg|kg|%))",
    re.IGNORECASE,
)
_DATE_COMPACT = re.compile(
    r"(?<![\d.])(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"
)
_PHONE = re.compile(r"(?<![\w+/.-])(?:\+|00)?\(?\d[\d\s()./-]{5,}\d(?![\w/-]|\.\d)")
_YEAR_RANGE = re.compile(r"(?:19|20)\d{2}\s*[-/]\s*(?:19|20)\d{2}")
_PHONE_CUE = re.compile(
    r"\b(?:tel|tél|phone|ph|mob|mobile|cell|fax|telefon|teléfono|telefono|telefoon|bleep|"
    r"pager|ext)\b\.?:?\s*$",
    re.IGNORECASE,
)
_STREET_EN = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|close|way|court|ct|place|pl|crescent|cres|"
    "boulevard|blvd|terrace|gardens|square|sq|grove|row|walk|mews|hill|park|parade"
)
_ADDRESS = re.compile(
    rf"(?<!\w)\d{{1,5}}[a-zA-Z]?,?\s+(?:[A-Z][\w'.-]*\s+){{1,4}}(?i:{_STREET_EN})\b\.?"
    r"|(?<!\w)(?:\d{1,4}[a-z]?,?\s+)?[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|"
    r"laan|straat|gracht|plein|singel|kade|vej|gatan|gata|vägen|väg)(?:\s+\d{1,4}[a-z]?\b)?"
    r"|(?<!\w)(?:\d{1,4}[a-z]?,?\s+)?(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|impasse|"
    r"via|viale|piazza|corso|calle|avenida|avda\.?|paseo|plaza|rua|praça|travessa|ulica|ul\.)"
    r"\s+(?:(?:de|del|la|le|les|des|du|di|da|do|dos|das|della|dei)\s+|d')*"
    r"[A-ZÀ-Ý][\w'-]*(?:\s+[A-ZÀ-Ý][\w'-]*){0,3}(?:,?\s*(?:n\.?\s*)?\d{1,4}[a-z]?\b)?",
)
_POSTCODE_UK = re.compile(r"(?<!\w)[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}(?!\w)")
_ID_CUE = re.compile(
    r"(?<!\w)(?:MRN|MR|NHS|PID|ID|IDs|Nr|No|Num|Number|Acc|Accession|Case|Ref|Hosp|"
    r"Hospital|Chart|Record|Patient|Study|Pat|Pt|Dossier|Fall|Aktenzeichen|Exp|Nº|N°|#)"
    r"\.?(?:\s*(?:no\.?|nr\.?|number|#|id))?\s*[:#]?\s*"
    r"(?=[A-Z0-9-]*\d)([A-Z0-9][A-Z0-9/-]{3,})(?![\w-])",
    re.IGNORECASE,
)
_ID_TOKEN = re.compile(r"(?<![\w.,-])[A-Za-z0-9][A-Za-z0-9/-]{4,}(?![\w-]|[.,]\d)")
_NUMBER = re.compile(r"(?<![\d.,])\d{6,}(?:[/-]\d{1,4})?(?![\d]|[.,]\d)")
_MEASURE = re.compile(
    r"^\d+(?:\.\d+)?(?:mm|cm|ml|mg|mcg|ug|kg|g|kv|kvp|ma|mas|ms|s|hz|khz|mhz|mgy|gy|msv|sec|"
    r"min|mmhg|bpm|iu|mmol|umol|x\d+)$|^[a-z]\d{1,4}$|^\d{1,4}x\d{1,4}(?:x\d{1,4})?$",
    re.IGNORECASE,
)


def _valid_date(year: int, month: int, day: int) -> bool:
    if year < 100:
        year += 2000
    try:
        date(year, month, day)
    except ValueError:
        return False
    return 1850 <= year <= 2200


_MONTH_SET = frozenset(m.casefold() for m in MONTHS)
_LETTERS = re.compile(r"[^\W\d_]+")


def dates(text: str) -> Iterator[tuple[int, int]]:
    # The month-name patterns are long alternations: tried only when a month is there.
    if not _MONTH_SET.isdisjoint(_LETTERS.findall(text.casefold())):
        for match in _DATE_WORDS.finditer(text):
            yield match.span()
        for match in _DATE_DASHED.finditer(text):
            yield match.span()
        for match in _MONTH_DAY.finditer(text):
            yield match.span()
    for match in _MONTH_YEAR.finditer(text):
        yield match.span()
    for match in _DATE_COMPACT.finditer(text):
        yield match.span()
    for match in _DATE_NUMERIC.finditer(text):
        g = match.groups()
        if g[0]:
            ok = _valid_date(int(g[0]), int(g[2]), int(g[3]))
        else:
            a, b, y = int(g[4]), int(g[6]), int(g[7])
            if len(g[7]) == 2 and g[5] == "." and not (len(g[4]) == len(g[6]) == 2):
                ok = False  # "1.5.12": a version or a list, rarely a date ("14.03.21" is)
            else:
                ok = _valid_date(y, b, a) or _valid_date(y, a, b)
        if ok:
            yield match.span()


def phones(text: str) -> Iterator[tuple[int, int]]:
    for match in _PHONE.finditer(text):
        body = match.group().rstrip(" ).-")
        if _YEAR_RANGE.fullmatch(body):
            continue  # "2019-2021": years, which research keeps
        digits = sum(c.isdigit() for c in body)
        cued = _PHONE_CUE.search(text[max(0, match.start() - 12) : match.start()]) is not None
        looks = body[0] in "+(0" or "-" in body or "(" in body or digits >= 9
        if (digits >= 7 and looks) or (cued and digits >= 5):
            yield match.start(), match.start() + len(body)


def addresses(text: str) -> Iterator[tuple[int, int]]:
    for pattern in (_ADDRESS, _POSTCODE_UK):
        for match in pattern.finditer(text):
            yield match.span()


def identifiers(text: str) -> Iterator[tuple[int, int]]:
    for match in _ID_CUE.finditer(text):
        yield match.span(1)
    for match in _ID_TOKEN.finditer(text):
        token = match.group()
        digits = sum(c.isdigit() for c in token)
        letters = sum(c.isalpha() for c in token)
        if digits >= 4 and letters >= 1 and not _MEASURE.match(token):
            yield match.span()
    for match in _NUMBER.finditer(text):
        yield match.span()


def emails(text: str) -> Iterator[tuple[int, int]]:
    for match in EMAIL.finditer(text):
        yield match.span()


def urls(text: str) -> Iterator[tuple[int, int]]:
    for match in URL.finditer(text):
        yield match.start(), match.end() - (1 if match.group()[-1] in ".,;)" else 0)
