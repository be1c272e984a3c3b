"""Person names in free text, whether or not the header names them.

A name is found by what stands around it or by what it is (vocabulary in
:mod:`deid.text.vocabulary`):

* **Titles** (Dr, Mr, Mrs, Ms, Prof, Herr, Frau, Mme, Sr, Sra, Dott, Dhr, Pan, Nurse ...):
  the one to three capitalised tokens after them are a name, whatever they are.
* **Role cues** (by, spouse, carer, wife, son, witnessed by, referred by, discussed with,
  von, durch, par, épouse, por, esposa, moglie, door, echtgenote ...): the capitalised
  tokens after them are a name unless they are words of medicine or of a language.
* **Person Name forms**: ``Family^Given`` and ``FAMILY, Given`` / ``Family, Given``.
* **What it is**: a capitalised token that is a listed given name or surname and no word
  of a language or of medicine, or a capitalised token no language uses (4 letters or
  more), anywhere. In text written all in capitals, capitals say nothing: only listed
  names, and the cues, count there.

A found token grows into its neighbours: capitalised tokens that are names or no words,
initials ("J." or "J") and particles (van, de, von, di, al ...), so "Maria van der Berg"
or "SMITH J" go as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from deid.text import vocabulary as vocab

TITLES = frozenset(
    [
        "dr",
        "dr.",
        "doctor",
        "doc",
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "miss",
        "mx",
        "prof",
        "prof.",
        "professor",
        "sir",
        "dame",
        "rev",
        "herr",
        "frau",
        "hr",
        "fr",
        "dott",
        "dott.",
        "dottssa",
        "dott.ssa",
        "sig",
        "sig.ra",
        "signor",
        "signora",
        "sr",
        "sr.",
        "sra",
        "sra.",
        "srta",
        "señor",
        "señora",
        "doña",
        "dra",
        "dra.",
        "mme",
        "mlle",
        "monsieur",
        "madame",
        "dhr",
        "dhr.",
        "mevr",
        "mevr.",
        "mw",
        "pan",
        "pani",
        "nurse",
        "sister",
        "matron",
        "schwester",
        "pfleger",
        "pflegerin",
        "infirmière",
        "infirmier",
        "enfermera",
        "enfermero",
        "enfermeira",
        "infermiera",
        "infermiere",
    ]
)
#: Cue words and phrases (casefolded, spaces between words) after which a name follows.
ROLE_CUES = frozenset(
    [
        *[
            "by",
            "spouse",
            "husband",
            "wife",
            "partner",
            "carer",
            "caregiver",
            "guardian",
            "mother",
            "father",
            "son",
            "daughter",
            "brother",
            "friend",
            "neighbour",
            "neighbor",
            "witness",
            "referrer",
            "consultant",
            "physician",
            "radiologist",
            "surgeon",
            "technologist",
            "radiographer",
            "sonographer",
            "resident",
            "registrar",
            "attending",
            "contact",
            "attn",
            "cc",
            "per",
            "informed",
            "called",
            "von",
            "durch",
            "ehefrau",
            "ehemann",
            "ehepartner",
            "betreuer",
            "betreuerin",
            "tochter",
            "sohn",
            "mutter",
            "vater",
            "par",
            "épouse",
            "époux",
            "mari",
            "femme",
            "fille",
            "fils",
            "aidant",
            "aidante",
            "por",
            "esposa",
            "esposo",
            "marido",
            "hija",
            "hijo",
            "cuidador",
            "cuidadora",
            "madre",
            "padre",
            "moglie",
            "marito",
            "figlia",
            "figlio",
            "badante",
            "door",
            "echtgenote",
            "echtgenoot",
            "mantelzorger",
            "dochter",
            "zoon",
            "przez",
            "żona",
            "mąż",
            "opiekun",
            "av",
            "maka",
            "make",
            "dal",
            "dalla",
        ],
        "witnessed by",
        "referred by",
        "reported by",
        "dictated by",
        "signed by",
        "seen by",
        "examined by",
        "verified by",
        "approved by",
        "interpreted by",
        "discussed with",
        "spoke with",
        "spoken to",
        "lives with",
        "history given by",
        "überwiesen von",
        "adressé par",
        "referido por",
        "inviato da",
        "verwezen door",
    ]
)
PARTICLES = frozenset(
    [
        "van",
        "von",
        "de",
        "der",
        "den",
        "del",
        "della",
        "di",
        "da",
        "du",
        "dos",
        "das",
        "do",
        "la",
        "le",
        "ten",
        "ter",
        "bin",
        "ibn",
        "al",
        "el",
        "zu",
        "af",
    ]
)
#: Function words of languages that capitalise every noun (German): in such text an
#: unknown capitalised token is a noun more often than a name.
NOUN_CAPITALISING = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "mit",
        "von",
        "zur",
        "zum",
        "zu",
        "keine",
        "kein",
        "nach",
        "bei",
        "gut",
        "nicht",
        "ist",
        "im",
        "am",
        "auf",
        "für",
        "eine",
        "einer",
        "ein",
        "des",
        "dem",
        "den",
        "wegen",
        "durch",
    ]
)
_TOKEN = re.compile(r"(?<!\w)[^\W\d_](?:[\w'’-]*[^\W\d_])?\.?")
_PARTICLE_RUN = r"(?:(?:van|von|de|der|den|del|della|di|da|du|dos|das|do|la|le|ten|ter|al|el)\s+)*"
_CARET = re.compile(
    rf"(?<![\w^]){_PARTICLE_RUN}[^\W\d_][\w'’-]*\^[^\W\d_][\w'’-]*(?:\^[\w'’.-]*){{0,3}}",
    re.IGNORECASE,
)
_COMMA_NAME = re.compile(r"(?<!\w)([^\W\d_][\w'’-]+),\s*([^\W\d_][\w'’-]+)(?!\w)")
_MAX_AFTER_CUE = 3


def _capitalised(token: str) -> bool:
    return token[:1].isupper()


def _bare(token: str) -> str:
    return token.rstrip(".")


def _initial(token: str) -> bool:
    bare = _bare(token)
    return len(bare) == 1 and bare.isupper()


def _medical(word: str) -> bool:
    return vocab.is_medical(word)


def _namelike(word: str, all_caps_text: bool) -> bool:
    """A capitalised token that is a name by what it is (see the module docstring)."""
    if len(word) < 3 or _medical(word) or vocab.is_language_word(word):
        return False
    if word.isupper() and len(word) < 4:
        return False  # DWI, ADC: acronyms
    if vocab.name_role(word):
        return True
    if all_caps_text or word.isupper():
        return False  # acronyms and sequence names: capitals say nothing
    return len(word) >= 4 and vocab.is_rare(word) and word.isalpha()


def _after_cue(word: str) -> bool:
    """A capitalised token after a role cue: a listed name that is no frequent English
    word ("carer Rose", "spouse Piotr", "by Fischer"), or any token that is no word of
    medicine or of a language."""
    if (word.isupper() and len(word) <= 3) or word.casefold() in TITLES:
        return False  # GP, ED, ICU; a title is a cue of its own
    if vocab.is_name_part(word):
        return True
    return not _medical(word) and not vocab.is_language_word(word)


def _part(word: str, all_caps: bool) -> bool:
    """A neighbour of a found name that belongs to it: an initial, a listed name part, or
    a token that is a name by what it is."""
    if _initial(word):
        return True
    if (word.isupper() and len(word) <= 3) or word.casefold() in TITLES:
        return False
    return vocab.is_name_part(word) or (
        len(word) >= 2 and not _medical(word) and not vocab.is_language_word(word)
    )


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]

    def gap(self, i: int) -> str:
        """The text between token i-1 and token i."""
        return self.text[self.items[i - 1][1] : self.items[i][0]]


def _joined(tokens: _Tokens, i: int) -> bool:
    """Token i follows token i-1 inside one phrase (only spaces between)."""
    return i > 0 and tokens.gap(i).strip() == ""


def _grow(tokens: _Tokens, i: int, j: int, all_caps: bool) -> tuple[int, int]:
    """Extend the name tokens i..j (inclusive) over neighbouring name parts."""
    items = tokens.items
    while j + 1 < len(items) and _joined(tokens, j + 1):
        word = _bare(items[j + 1][2])
        nxt = items[j + 2][2] if j + 2 < len(items) and _joined(tokens, j + 2) else ""
        if (_capitalised(word) and _part(word, all_caps)) or (
            word.casefold() in PARTICLES and nxt and _capitalised(nxt)
        ):
            j += 1
        else:
            break
    while i > 0 and _joined(tokens, i):
        word = _bare(items[i - 1][2])
        if (_capitalised(word) and _part(word, all_caps)) or (
            word.casefold() in PARTICLES and i > 1 and _joined(tokens, i - 1)
        ):
            i -= 1
        else:
            break
    while i <= j and items[i][2].casefold() in PARTICLES:
        i += 1
    return i, j


def _cue_at(tokens: _Tokens, i: int) -> tuple[str, int]:
    """("title"|"role"|"", index of the first token after the cue) for a cue ending at i."""
    word = tokens.items[i][2].casefold()
    if word in TITLES or word.rstrip(".") in TITLES:
        return "title", i + 1
    for size in (3, 2):
        if i - size + 1 >= 0:
            phrase = " ".join(tokens.items[k][2].casefold() for k in range(i - size + 1, i + 1))
            if phrase in ROLE_CUES:
                return "role", i + 1
    if word in ROLE_CUES:
        return "role", i + 1
    return "", i + 1


def find_names(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every person name found in ``text`` (may overlap; callers merge)."""
    for match in _CARET.finditer(text):
        yield match.start(), match.end() - (len(match.group()) - len(match.group().rstrip()))
    letters = [c for c in text if c.isalpha()]
    all_caps = bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)
    for match in _COMMA_NAME.finditer(text):
        family, given = match.group(1), match.group(2)
        if not (_capitalised(family) and _capitalised(given)):
            continue
        if all(
            vocab.is_name_part(w) or (vocab.is_rare(w) and not _medical(w)) for w in (family, given)
        ):
            yield match.span()
    tokens = _Tokens(text)
    items = tokens.items
    n = len(items)
    nouns = any(item[2].casefold() in NOUN_CAPITALISING for item in items)
    i = 0
    while i < n:
        kind, k = _cue_at(tokens, i)
        if kind and k < n and _joined(tokens, k):
            lead = k  # "Ms de Vries", "spouse van den Berg": the particles belong to the name
            while k + 1 < n and items[k][2].casefold() in PARTICLES and _joined(tokens, k + 1):
                k += 1
            first = _bare(items[k][2])
            ok = _capitalised(first) and (kind == "title" or _after_cue(first))
            if ok:
                j = k
                while (
                    j + 1 < n
                    and j + 1 - k < _MAX_AFTER_CUE
                    and _joined(tokens, j + 1)
                    and _capitalised(items[j + 1][2])
                    and (
                        _initial(items[j + 1][2])
                        or (kind == "title" and not _medical(_bare(items[j + 1][2])))
                        or _after_cue(_bare(items[j + 1][2]))
                    )
                ):
                    j += 1
                start, end = _grow(tokens, k, j, all_caps)
                start = min(start, lead)
                yield items[start][0], _end(items[end])
                i = end + 1
                continue
        word = _bare(items[i][2])
        if _pair(tokens, i):
            start, end = _grow(tokens, i, i + 1, all_caps)
            yield items[start][0], _end(items[end])
            i = end + 1
            continue
        if _capitalised(word) and _namelike(word, all_caps or _initial_or_noun(tokens, i, nouns)):
            start, end = _grow(tokens, i, i, all_caps)
            yield items[start][0], _end(items[end])
            i = end + 1
            continue
        i += 1


def _pair(tokens: _Tokens, i: int) -> bool:
    """Tokens i and i+1 are two listed name parts side by side ("Thibault Moreau",
    "LOPEZ MARIA"), neither a word of medicine."""
    if i + 1 >= len(tokens.items) or not _joined(tokens, i + 1):
        return False
    words = (_bare(tokens.items[i][2]), _bare(tokens.items[i + 1][2]))
    if not all(_capitalised(w) and len(w) >= 2 for w in words):
        return False  # cheap tests first: most text never loads the vocabulary
    return all(vocab.is_name_part(w) and not _medical(w) for w in words)


def _initial_or_noun(tokens: _Tokens, i: int, nouns: bool) -> bool:
    """Capitals say little here: the first token of a sentence, or German text (every
    noun capitalised): only listed names count, not unknown tokens."""
    if nouns or i == 0:
        return True
    return any(c in ".;:!?" for c in tokens.gap(i))


def _end(item: tuple[int, int, str]) -> int:
    """A token's end without its trailing full stop, unless it is an initial ("J.")."""
    _start, end, token = item
    if token.endswith(".") and not _initial(token) and token.casefold() not in TITLES:
        return end - 1
    return end
