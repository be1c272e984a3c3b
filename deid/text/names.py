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
        "pr",
        "pr.",
        "dott.ssa",
        "dr.ssa",
        "prof.ssa",
        "herrn",
        "profa",
        "profa.",
        "dra.ª",
        "sr.ª",
        "drs",
        "dres",
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
        # kin, carers and roles in pt, es, fr, it, nl, de not listed above
        "filha",
        "filho",
        "mãe",
        "pai",
        "irmã",
        "irmão",
        "neta",
        "neto",
        "cuidadora",
        "acompanhante",
        "pela",
        "pelo",
        "médico",
        "médica",
        "hermana",
        "hermano",
        "nieta",
        "nieto",
        "acompañante",
        "sœur",
        "frère",
        "mère",
        "père",
        "compagne",
        "compagnon",
        "conjoint",
        "conjointe",
        "sorella",
        "fratello",
        "nipote",
        "compagna",
        "compagno",
        "zus",
        "broer",
        "moeder",
        "vader",
        "partner",
        "schwester",
        "bruder",
        "lebensgefährtin",
        "lebensgefährte",
        "enkelin",
        "enkel",
        "nachbar",
        "nachbarin",
        "vizinha",
        "vizinho",
        "vecina",
        "vecino",
        "voisine",
        "voisin",
        "vicina",
        "vicino",
        "buurman",
        "buurvrouw",
        "chaperone",
        "interpreter",
        "translator",
        "sister",
        "grandson",
        "granddaughter",
        "niece",
        "nephew",
        "aunt",
        "uncle",
        "cousin",
        "fiancé",
        "fiancée",
        "girlfriend",
        "boyfriend",
        "stepson",
        "stepdaughter",
        "kin",
        "nok",
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
        "los",
        "las",
        "dei",
        "degli",
        "ní",
        "nic",
        "mac",
        "ben",
        "abu",
        "st",
        "st.",
        "vander",
        "op",
        "dela",
        "delos",
    ]
)
#: Nouns that follow an eponym ("Baker cyst", "Parkinson disease", "Foley catheter"): a
#: listed name right before one is medicine, unless a title or cue says it is a person.
EPONYM_HEADS = frozenset(
    """disease syndrome sign signs fracture fractures cyst cysts procedure operation
    tumour tumor lesion node nodes neuroma diverticulum catheter line lines tube
    classification class grade score criteria stage staging test manoeuvre maneuver method
    biplane rule phenomenon malformation anomaly palsy sarcoma lymphoma type view
    projection position shunt valve stent filter fossa space pouch canal duct ligament
    triangle hernia ulcer oesophagus esophagus deformity contracture angle ring nodule
    artery vein sinus foramen band zone area body bodies cell cells effect law equation
    formula index ratio reflex aneurysm atresia injury dislocation scale system protocol
    technique approach incision repair fundoplication resection anastomosis pouch
    thyroiditis encephalopathy dementia chorea ataxia neuropathy dystrophy disease's
    krankheit syndrom fraktur zyste maladie syndrome enfermedad síndrome malattia
    sindrome ziekte""".split()  # noqa: SIM905 (a word list reads better as text)
)
_EPONYM_SUFFIX = re.compile(r"(?:itis|osis|oma|omas|pathy|ectomy|plasty|otomy|ostomy|algia)$")
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
_TOKEN = re.compile(r"(?<!\w)[^\W\d_](?:[\w'’-]*[^\W\d_])?(?:\.(?:ssa|ª)(?!\w))?\.?")
_PARTICLE_RUN = (
    r"(?:(?:van|von|de|der|den|del|della|di|da|du|dos|das|do|la|le|los|las|ten|ter|al|el|mac|"
    r"ní|nic|st\.?|dei|degli|ben|abu)\s+)*"
)
_CARET = re.compile(
    rf"(?<![\w^]){_PARTICLE_RUN}[^\W\d_][\w'’-]*\^[^\W\d_][\w'’-]*(?:\^[\w'’.-]*){{0,3}}",
    re.IGNORECASE,
)
_COMMA_NAME = re.compile(
    rf"(?<![\w'’]){_PARTICLE_RUN}([^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){{0,2}}),\s*"
    r"([^\W\d_][\w'’-]*\.?)(?![\w'’])",
    re.IGNORECASE,
)
_MAX_AFTER_CUE = 4
_LETTER = re.compile(r"[^\W\d_]+")
WORD_ZIPF = vocab.WORD_ZIPF
#: A listed name rarer than this in the text's own language is a name there ("Francesca"
#: in English text); one at least this frequent is a word of it ("Avis" in French text).
FOREIGN_ZIPF = 3.5
#: All-capital spellings of titles that are also clinical abbreviations (MR = magnetic
#: resonance, MS = multiple sclerosis, DR = digital radiography): in mixed-case text they
#: act as role cues (the next token must look like a name), not as titles.
_AMBIGUOUS_TITLES = frozenset({"MR", "MS", "DR", "MRS", "SR", "FR", "HR", "MW", "PAN", "SIR"})


def _capitalised(token: str) -> bool:
    return token[:1].isupper()


def _bare(token: str) -> str:
    return token.rstrip(".")


def _initial(token: str) -> bool:
    bare = _bare(token)
    return len(bare) == 1 and bare.isupper()


def _medical(word: str) -> bool:
    return vocab.is_medical(word)


def _head(word: str) -> bool:
    """A noun an eponym stands before ("cyst", "disease", "thyroiditis")."""
    folded = word.casefold().removesuffix("'s").removesuffix("’s")
    return folded in EPONYM_HEADS or bool(_EPONYM_SUFFIX.search(folded))


def text_language(tokens: list[str]) -> int:
    """Index in :data:`vocab.LANGUAGES` of the language most lower-case words of the text
    belong to, or -1 when there are none (a label, a name list)."""
    votes = [0] * len(vocab.LANGUAGES)
    for token in tokens:
        if token.islower() and len(token) >= 3 and token.isalpha():
            z = vocab.zipfs(token)
            best = max(z)
            if best >= WORD_ZIPF:
                votes[z.index(best)] += 1
    top = max(votes)
    return votes.index(top) if top else -1


class _Language:
    """The text's language (:func:`text_language`), worked out only when a rule asks: most
    values ("CT chest") never need it, nor the word lists it loads."""

    def __init__(self, tokens: list[str], all_caps: bool) -> None:
        self.tokens, self.all_caps, self.index = tokens, all_caps, -2

    def get(self) -> int:
        if self.index == -2:
            self.index = -1 if self.all_caps else text_language(self.tokens)
        return self.index


_NO_LANGUAGE = _Language([], True)


def _foreign_name(word: str, language: _Language) -> bool:
    """A listed given name or surname that is no word of the text's own language ("Anders"
    or "Chiara" in English text), not medicine."""
    if not vocab.name_role(word):
        return False
    lang = language.get()
    return (
        lang >= 0
        and vocab.zipfs(word)[lang] < FOREIGN_ZIPF
        and not _medical(word)
        and not vocab.is_eponym(word)
        and not (word.isupper() and len(word) < 4)
    )


def _namelike(
    word: str, all_caps_text: bool, german: bool = False, language: _Language = _NO_LANGUAGE
) -> bool:
    """A capitalised token that is a name by what it is (see the module docstring)."""
    if len(word) < 3 or (word.isupper() and len(word) < 4):
        return False  # cheap first: "CT", "MR", "DWI" never load a word list
    if gaelic(word) or _foreign_name(word, language):
        return True
    if _medical(word) or vocab.is_language_word(word) or vocab.is_eponym(word):
        return False
    if word.isupper() and len(word) < 4:
        return False  # DWI, ADC: acronyms
    if german and vocab.zipfs(word)[1] >= 3.0:
        return False  # a German noun ("Gabe") before a name that is spelt the same
    lang = language.get()
    if lang >= 0 and vocab.zipfs(word)[lang] >= FOREIGN_ZIPF and not vocab.is_name_part(word):
        return False
    if vocab.name_role(word) or gaelic(word):
        return True
    if all_caps_text or word.isupper():
        return False  # acronyms and sequence names: capitals say nothing
    return len(word) >= 4 and vocab.is_rare(word) and word.replace("'", "").isalpha()


def _after_cue(word: str) -> bool:
    """A capitalised token after a role cue: a listed name that is no frequent English
    word ("carer Rose", "spouse Piotr", "by Fischer"), or any token that is no word of
    medicine or of a language."""
    if (word.isupper() and len(word) <= 3) or word.casefold() in TITLES:
        return False  # GP, ED, ICU; a title is a cue of its own
    if vocab.is_name_part(word):
        return True
    return not _medical(word) and not vocab.is_language_word(word)


_GAELIC = re.compile(r"^(?:O['’]|D['’]|Mc|Mac(?=[A-Z])|Fitz(?=[A-Z]))[A-Z][a-z]{2,}")
_GAELIC_LOWER = re.compile(r"^(?:o['’]|d['’]|mc)[a-z]{3,}$")


def gaelic(word: str) -> bool:
    """O'Brien, McDonald, MacLeod, D'Angelo: a spelling only surnames have."""
    return bool(_GAELIC.match(word)) or (
        word.isupper() and bool(_GAELIC.match(word[:2] + word[2:].capitalize()))
    )


def _lower_name(word: str) -> bool:
    """A lower-case token after a cue that is a listed name and no word of a language
    or of medicine ("seen by charlotte thompson", "spouse niamh o'brien")."""
    if _GAELIC_LOWER.match(word):
        return True
    return (
        word.islower()
        and len(word) >= 2
        and bool(vocab.name_role(word))
        and not vocab.is_language_word(word)
        and not _medical(word)
    )


def _lower_listed(word: str) -> bool:
    """A lower-case listed name part, whatever else it is ("chiara", "russo")."""
    return word.islower() and (
        bool(_GAELIC_LOWER.match(word))
        or (
            vocab.is_name_part(word)
            and len(word) >= 3
            and (not _medical(word) or "s" in vocab.name_role(word))
        )
    )


def _lower_surname(word: str) -> bool:
    """A lower-case listed surname after a given name, unless a very frequent word
    ("charlotte smith", not "john in")."""
    if word.islower() and word.startswith("mac") and len(word) >= 6 and word[3:].isalpha():
        return True  # "macleod" after a given name
    return word.islower() and "s" in vocab.name_role(word) and vocab.zipfs(word)[0] < 5.5


def _lower_unknown(word: str) -> bool:
    """A lower-case token that is no word at all ("iyer"): after a listed given name."""
    return word.isalpha() and len(word) >= 3 and not vocab.is_common(word) and not _medical(word)


def _part(word: str, all_caps: bool) -> bool:
    """A neighbour of a found name that belongs to it: an initial, a listed name part, or
    a token that is a name by what it is."""
    if _initial(word):
        return True
    if (word.isupper() and len(word) <= 3 and not vocab.name_role(word)) or (
        word.casefold() in TITLES
    ):
        return False
    if _head(word):
        return False
    return vocab.is_name_part(word) or (
        len(word) >= 2 and not _medical(word) and not vocab.is_language_word(word)
    )


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        self.folded = [item[2].casefold() for item in self.items]

    def gap(self, i: int) -> str:
        """The text between token i-1 and token i."""
        return self.text[self.items[i - 1][1] : self.items[i][0]]


def _joined(tokens: _Tokens, i: int) -> bool:
    """Token i follows token i-1 inside one phrase (only spaces between)."""
    return 0 < i < len(tokens.items) and tokens.gap(i).strip() == ""


def _particles_then_name(tokens: _Tokens, i: int) -> int:
    """When tokens i.. are particles ("de la", "van der") joined to a capitalised token,
    the index of that token; else -1."""
    items = tokens.items
    k = i
    while k < len(items) and items[k][2].casefold() in PARTICLES and _joined(tokens, k + 1):
        k += 1
    if (
        k > i
        and k < len(items)
        and _capitalised(items[k][2])
        and not _initial(items[k][2])
        and items[k][2].casefold() not in TITLES
        and (not _medical(_bare(items[k][2])) or "s" in vocab.name_role(_bare(items[k][2])))
    ):
        return k
    return -1


def _particles_then_lower(tokens: _Tokens, i: int) -> int:
    """Like :func:`_particles_then_name` for lower-case text ("de la cruz")."""
    items = tokens.items
    k = i
    while k < len(items) and items[k][2] in PARTICLES and _joined(tokens, k + 1):
        k += 1
    word = items[k][2] if k < len(items) else ""
    if k > i and word.isalpha() and (not _medical(word) or "s" in vocab.name_role(word)):
        return k
    return -1


def _grow(tokens: _Tokens, i: int, j: int, all_caps: bool) -> tuple[int, int]:
    """Extend the name tokens i..j (inclusive) over neighbouring name parts."""
    items = tokens.items
    while j + 1 < len(items) and _joined(tokens, j + 1):
        word = _bare(items[j + 1][2])
        after = _particles_then_name(tokens, j + 1)
        if after > 0:
            j = after  # "Inés de la Cruz", "Rocío del Río": what follows particles is named
        elif _capitalised(word) and _part(word, all_caps):
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
    while i < j and items[i][2].casefold() in PARTICLES:
        i += 1
    return i, j


#: Last words of the cue phrases ("by" of "witnessed by") and every cue or title word: a
#: lower-case token outside this set starts nothing and is passed over at once.
_PHRASE_ENDS = frozenset(c.split()[-1] for c in ROLE_CUES if " " in c)
_STARTERS = _PHRASE_ENDS | ROLE_CUES | TITLES | {t.rstrip(".") for t in TITLES}


def _cue_at(tokens: _Tokens, i: int, all_caps: bool) -> tuple[str, int]:
    """("title"|"role"|"", index of the first token after the cue) for a cue ending at i."""
    token = tokens.items[i][2]
    word = token.casefold()
    if word in TITLES or word.rstrip(".") in TITLES:
        if not all_caps and _bare(token) in _AMBIGUOUS_TITLES:
            return "role", i + 1  # "MR Conditional", "MS plaques": the next must be a name
        return "title", i + 1
    if word in _PHRASE_ENDS:
        for size in (3, 2):
            if i - size + 1 >= 0 and " ".join(tokens.folded[i - size + 1 : i + 1]) in ROLE_CUES:
                return "role", i + 1
    if word in ROLE_CUES:
        return "role", i + 1
    return "", i + 1


def _after_cue_span(tokens: _Tokens, kind: str, k: int, all_caps: bool) -> tuple[int, int]:
    """The name right after a cue that ends before token k, as token indexes, or (-1, -1)."""
    items = tokens.items
    n = len(items)
    lead = k  # "Ms de Vries", "spouse van den Berg": the particles belong to the name
    named = _particles_then_name(tokens, k)
    if named > 0:
        k = named
    first = _bare(items[k][2])
    if (
        _initial(items[k][2])
        and _joined(tokens, k + 1)
        and (_capitalised(items[k + 1][2]) or _particles_then_name(tokens, k + 1) > 0)
    ):
        ok = True  # "by A. García", "Dr J Smith", "by D. de Jong"
    elif (
        first.isupper()
        and 2 <= len(first) <= 3
        and k + 1 < n
        and _joined(tokens, k + 1)
        and _initial(items[k + 1][2])
        and not _joined(tokens, k + 2)
    ):
        return min(k, lead), k + 1  # "Verified by EZE A": a short surname and an initial
    elif _capitalised(first):
        ok = named > 0 or kind == "title" or _after_cue(first)
        if ok and kind != "title" and named < 0 and _joined(tokens, k + 1):
            ok = not _head(items[k + 1][2]) or vocab.is_name_part(first)
    else:
        # Lower case: a listed name part that is no word, or two listed parts in a row
        # ("seen by chiara esposito": "chiara" is also Italian for "clear").
        second = (
            k + 1 < n
            and _joined(tokens, k + 1)
            and (_lower_listed(items[k + 1][2]) or _particles_then_lower(tokens, k + 1) > 0)
        )
        gaelic_next = (
            k + 1 < n
            and _joined(tokens, k + 1)
            and (
                bool(_GAELIC_LOWER.match(items[k + 1][2]))
                or (items[k + 1][2].startswith("mac") and len(items[k + 1][2]) >= 6)
            )
        )
        ok = (
            _lower_name(first)
            or (_lower_listed(first) and bool(second))
            or (gaelic_next and first.isalpha() and len(first) >= 3 and not vocab.is_common(first))
        )
        if ok:  # lower case: only listed names and particles follow
            j = k
            while j + 1 < n and j + 1 - k < _MAX_AFTER_CUE and _joined(tokens, j + 1):
                after = _particles_then_lower(tokens, j + 1)
                if after > 0:
                    j = after
                elif (
                    _lower_listed(items[j + 1][2])
                    or (j == k and _lower_unknown(items[j + 1][2]))
                    or (j == k and _lower_surname(items[j + 1][2]))
                ) and not _head(items[j + 1][2]):
                    j += 1
                else:
                    break
            return lead, j
    if not ok:
        return -1, -1
    j = k
    while (
        j + 1 < n
        and j + 1 - k < _MAX_AFTER_CUE
        and _joined(tokens, j + 1)
        and _capitalised(items[j + 1][2])
        and not _head(items[j + 1][2])
        and (
            _initial(items[j + 1][2])
            or (kind == "title" and not _medical(_bare(items[j + 1][2])))
            or _after_cue(_bare(items[j + 1][2]))
        )
    ):
        j += 1
    start, end = _grow(tokens, k, j, all_caps)
    return min(start, lead), end


def find_names(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every person name found in ``text`` (may overlap; callers merge)."""
    for match in _CARET.finditer(text):
        start = match.start()
        # "DELA CRUZ^MARICEL": a family name with a space; the word before it belongs to
        # it when it is a particle or a name part.
        before = re.search(r"([^\W\d_][\w'’-]*)\s+$", text[max(0, start - 40) : start])
        if before:
            word = before.group(1)
            if word.casefold() in PARTICLES or (
                _capitalised(word)
                and not _head(word)
                and word.casefold() not in TITLES
                and (vocab.is_name_part(word) or not vocab.is_language_word(word))
                and not _medical(word)
            ):
                start -= len(before.group())
        yield start, match.end() - (len(match.group()) - len(match.group().rstrip()))
    letters = "".join(_LETTER.findall(text))
    all_caps = bool(letters) and sum(map(str.isupper, letters)) > 0.8 * len(letters)
    for match in _COMMA_NAME.finditer(text):
        family = match.group(1)
        particles = match.start(1) > match.start()
        # The family name is the last one to three words before the comma ("Signed
        # NOVAK, J.": not "Signed"); the longest that reads as one wins.
        offsets = [0] + [m.end() for m in re.finditer(r"\s+", family)]
        for cut, offset in enumerate(offsets):
            words = family[offset:]
            lead = words.split()[0].casefold() in PARTICLES
            if _comma_name(words, match.group(2), (particles and cut == 0) or lead):
                yield (match.start() if cut == 0 else match.start(1) + offset), match.end()
                break
    tokens = _Tokens(text)
    items = tokens.items
    n = len(items)
    german = any(item[2].casefold() in NOUN_CAPITALISING for item in items)
    language = _Language([item[2] for item in items], all_caps)
    i = 0
    folded = tokens.folded
    while i < n:
        if not items[i][2][:1].isupper() and folded[i] not in _STARTERS:
            i += 1  # a lower-case word that is no cue: nothing starts here
            continue
        kind, k = _cue_at(tokens, i, all_caps)
        if kind and k < n and _joined(tokens, k):
            start, end = _after_cue_span(tokens, kind, k, all_caps)
            if start >= 0:
                yield items[start][0], _end(items[end])
                i = end + 1
                continue
        word = _bare(items[i][2])
        if _pair(tokens, i, german) or _initial_name(tokens, i):
            last = _particles_then_name(tokens, i + 1)
            start, end = _grow(tokens, i, max(last, i + 1), all_caps)
            yield items[start][0], _end(items[end])
            i = end + 1
            continue
        if (
            _capitalised(word)
            and _namelike(word, all_caps or _initial_or_noun(tokens, i, german), german, language)
            and not (_joined(tokens, i + 1) and _head(items[i + 1][2]))
        ):
            start, end = _grow(tokens, i, i, all_caps)
            yield items[start][0], _end(items[end])
            i = end + 1
            continue
        i += 1


def _comma_name(family: str, given: str, particles: bool = False) -> bool:
    """``FAMILY, Given`` / ``Family, Given`` / ``Family, G.``: a listed given name (or an
    initial) after a comma, and before it a capitalised family name that is no word of
    medicine and, unless listed, no word of a language."""
    words = family.split()
    last = words[-1]
    if not (_capitalised(last) and _capitalised(given)):
        return False
    if any(
        w.casefold() not in PARTICLES
        and (
            (_medical(w) and "s" not in vocab.name_role(w))
            or (w.isupper() and len(w) <= 3 and not vocab.name_role(w) and not particles)
        )
        for w in words
    ):
        return False
    if any(not _capitalised(w) and w.casefold() not in PARTICLES for w in words):
        return False
    if _initial(given):
        ok_given = len(given) == 2 or last.isupper()  # "SMITH, J." / "Smith, J."
    else:
        bare = _bare(given)
        ok_given = (
            "g" in vocab.name_role(bare)
            and (vocab.is_name_part(bare) or not vocab.is_language_word(bare))
            and not _medical(bare)
        ) or (vocab.is_rare(bare) and not _medical(bare) and len(bare) >= 3)
    if not ok_given:
        return False
    return particles or all(
        vocab.is_name_part(w)
        or "s" in vocab.name_role(w)
        or gaelic(w)
        or (not vocab.is_language_word(w) and not _medical(w))
        for w in words
        if w.casefold() not in PARTICLES
    )


def _pair(tokens: _Tokens, i: int, german: bool = False) -> bool:
    """Tokens i and i+1 are two listed name parts side by side ("Thibault Moreau",
    "LOPEZ MARIA"): a given name that is no word of medicine, then a listed name part
    that is no eponym before its noun ("Francesca Russo", not "Charcot Marie disease")."""
    if i + 1 >= len(tokens.items) or not _joined(tokens, i + 1):
        return False
    first = _bare(tokens.items[i][2])
    if (
        _capitalised(first)
        and "g" in vocab.name_role(first)
        and not _medical(first)
        and not (german and vocab.zipfs(first)[1] >= 3.0)
        and _particles_then_name(tokens, i + 1) > 0
    ):
        return True  # "Inés de la Cruz", "Sanne van Dijk"
    words = (first, _bare(tokens.items[i + 1][2]))
    if not all(_capitalised(w) and len(w) >= 2 for w in words):
        return False  # cheap tests first: most text never loads the vocabulary
    if _joined(tokens, i + 2) and _head(tokens.items[i + 2][2]):
        return False
    given, family = words
    if "g" in vocab.name_role(given) and not _medical(given) and gaelic(family):
        return True
    if not (vocab.is_name_part(given) and vocab.is_name_part(family)):
        return False
    if not _medical(given) and not _medical(family):
        return True
    return "g" in vocab.name_role(given) and not _medical(given) and "s" in vocab.name_role(family)


def _initial_name(tokens: _Tokens, i: int) -> bool:
    """An initial with its full stop before a capitalised name-like token ("J. Smith")."""
    items = tokens.items
    if not (items[i][2].endswith(".") and _initial(items[i][2]) and _joined(tokens, i + 1)):
        return False
    word = _bare(items[i + 1][2])
    if not _capitalised(word) or len(word) < 2 or _head(word):
        return False
    return vocab.is_name_part(word) or (not _medical(word) and not vocab.is_language_word(word))


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
