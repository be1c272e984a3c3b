"""What a word is: shipped word lists the engine's name finder and the verify gate share.

Three questions decide whether a capitalised token of free text is a person's name, and
each is answered from data that installs with the package (nothing is fetched at run time):

* **Is it a person's name?** Given names and surnames ranked among the 1 000 most common of
  at least one of 105 countries, from the ``names-dataset`` package (derived once into
  ``deid/text/data/person_names.tsv.gz`` by ``scripts/generate_vocabulary.py``: the package itself
  loads in ~15 s and ~1.9 GB, far beyond a worker's budget).
* **Is it a word of a language?** ``wordfreq``'s frequency lists (data inside the wheel):
  English (large list) and German, French, Spanish, Italian, Dutch, Portuguese, Polish,
  Swedish (small lists). Names occur in every language's text at about the same rate
  ("john", "maria", "nguyen"), ordinary words far more in their own language than in the
  others ("will", "here", "lives"): a word is a word of a language when its Zipf frequency
  is 3 or more somewhere and at least :data:`OWN_LANGUAGE_MARGIN` above its median over
  the languages.
* **Is it a word of medicine (or of the devices)?** Every word of the code meanings in
  pydicom's DICOM PS3.16 concept dictionary (SNOMED CT, LOINC, DCM: anatomy, findings,
  procedures, drugs and contrast agents named there, eponyms such as Hodgkin), of the
  standard attribute names (PS3.6) and of the vendors' private creator strings; derived
  once into ``data/medical_words.txt.gz`` by ``scripts/generate_vocabulary.py`` (a test
  checks it against the pydicom installed).

Everything is loaded on first use, once per process, and cached.
"""

from __future__ import annotations

import gzip
import re
import statistics
from functools import cache, lru_cache
from pathlib import Path
from typing import cast

_DATA = Path(__file__).resolve().parent / "data"
#: Languages whose word lists decide "a word of a language"; English gets the large list.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv")
#: Zipf frequency at which a token counts as a word somewhere (3 = once per million words).
WORD_ZIPF = 3.0
#: How far above its median over :data:`LANGUAGES` a word's top frequency must be for it to
#: be a word of that language rather than a name every language's text mentions.
OWN_LANGUAGE_MARGIN = 1.0
#: Below this Zipf frequency in every language a token is no word anyone writes.
RARE_ZIPF = 1.5
#: A listed name at least this frequent in English text is taken for the English word.
ENGLISH_WORD_ZIPF = 4.5
_WORD = re.compile(r"[^\W\d_]{2,}")


@cache
def person_names() -> dict[str, str]:
    """casefolded name -> "g" (given), "s" (surname) or "gs"."""
    text = gzip.decompress((_DATA / "person_names.tsv.gz").read_bytes()).decode("utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, _, roles = line.partition("\t")
        out[name] = roles
    return out


@cache
def _frequencies() -> tuple[dict[str, float], ...]:
    import wordfreq

    return tuple(
        wordfreq.get_frequency_dict(lang, "large" if lang == "en" else "small")
        for lang in LANGUAGES
    )


def _zipf(frequency: float) -> float:
    import math

    return math.log10(frequency) + 9.0 if frequency > 0 else 0.0


@lru_cache(maxsize=65536)
def zipfs(word: str) -> tuple[float, ...]:
    """The word's Zipf frequency in each of :data:`LANGUAGES` (0 when absent)."""
    folded = word.casefold()
    return tuple(_zipf(table.get(folded, 0.0)) for table in _frequencies())


@lru_cache(maxsize=65536)
def is_language_word(word: str) -> bool:
    """A word of some language (see the module docstring), not a name all of them share.

    The median is taken over the languages whose list has the word (the small lists stop
    at ~30 000 words); a word only one or two lists have is that language's own."""
    values = [v for v in zipfs(word) if v > 0]
    if not values or max(values) < WORD_ZIPF:
        return False
    if len(values) <= 2:
        return True
    return max(values) - statistics.median(values) >= OWN_LANGUAGE_MARGIN


@lru_cache(maxsize=65536)
def is_rare(word: str) -> bool:
    """No language of :data:`LANGUAGES` uses it: a name, a code or a typo."""
    return max(zipfs(word)) < RARE_ZIPF


@lru_cache(maxsize=65536)
def is_name_part(word: str) -> bool:
    """A listed given name or surname that is no frequent English word (Zipf under
    :data:`ENGLISH_WORD_ZIPF`: "Fischer", "Piotr", "Rose" are, "Will", "Phone" are not)."""
    return bool(name_role(word)) and zipfs(word)[0] < ENGLISH_WORD_ZIPF


@lru_cache(maxsize=65536)
def is_common(word: str) -> bool:
    """Frequent in some language (Zipf 3.5 or more), whatever else it also is."""
    return max(zipfs(word)) >= 3.5


@cache
def medical_words() -> frozenset[str]:
    """Casefolded words of medicine, as :func:`derive_medical_words` wrote them into
    ``data/medical_words.txt.gz`` (reading pydicom's dictionaries costs ~0.5 s a process)."""
    text = gzip.decompress((_DATA / "medical_words.txt.gz").read_bytes()).decode("utf-8")
    return frozenset(text.split())


def derive_medical_words() -> list[str]:
    """Words of PS3.16 code meanings (less the names among them, see below), PS3.6
    attribute names and private creators, from the pydicom installed; sorted."""
    from pydicom._private_dict import private_dictionaries
    from pydicom.datadict import DicomDictionary
    from pydicom.sr._concepts_dict import concepts

    words: set[str] = set()
    for schemes in cast(dict, concepts).values():
        for codes in schemes.values():
            for meaning, _cids in codes.values():
                words.update(w.casefold() for w in _WORD.findall(meaning))
    # PS3.16 also names animal breeds and places ("Campbell", "Bernard"): a code meaning's
    # word that is a listed person's name and no word of a language is not vocabulary.
    words = {w for w in words if not name_role(w) or is_language_word(w)}
    for entry in DicomDictionary.values():
        words.update(w.casefold() for w in _WORD.findall(entry[2]))
    for creator in private_dictionaries:
        words.update(w.casefold() for w in _WORD.findall(creator))
    return sorted(words)


@cache
def clinical_terms() -> frozenset[str]:
    """Casefolded words of ``data/clinical_terms.txt``: vendors, device models, contrast
    agents, drugs and eponyms that the standard's dictionaries lack (see that file)."""
    out: set[str] = set()
    for line in (_DATA / "clinical_terms.txt").read_text("utf-8").splitlines():
        out.update(line.partition("#")[0].casefold().split())
    return frozenset(out)


#: Stems that end international non-proprietary drug names (WHO INN stems) and contrast
#: agents: "Apixaban", "Atorvastatin", "Rituximab" are drugs whatever list lacks them.
_DRUG_STEM = re.compile(
    r"(?:mab|nib|pril|sartan|olol|statin|azole|cillin|mycin|floxacin|parin|xaban|gatran|"
    r"formin|gliptin|gliflozin|glutide|prazole|tidine|dronate|semide|thiazide|dipine|azepam|"
    r"azolam|oxetine|triptan|profen|olone|caine|vudine|navir|previr|asvir|tegravir|ciclovir|"
    r"cycline|conazole|lukast|setron|tropium|terol|sonide|metasone|platin|rubicin|taxel|"
    r"trexate|limus|paque|vist|hance|trast|amine|oxacin|idone|apine|afil|lamide|ciclib|tinib)$"
)


@lru_cache(maxsize=65536)
def is_medical(word: str) -> bool:
    """A word of medicine: the standard's vocabulary, or a clinical term of the curated
    list or with a drug stem that is no listed person's name (those are left to context,
    see :func:`is_eponym`)."""
    folded = word.casefold()
    if folded in medical_words():
        return True
    if folded in clinical_terms() or (len(folded) >= 7 and _DRUG_STEM.search(folded)):
        return not name_role(folded)
    return False


@lru_cache(maxsize=65536)
def is_eponym(word: str) -> bool:
    """A curated clinical term that is also a listed person's name ("Parkinson", "Foley",
    "Philips"): no name by what it is, still one after a title or cue, in a pair with a
    given name, or in a Person Name form."""
    folded = word.casefold()
    return folded in clinical_terms() and bool(name_role(folded))


def name_role(word: str) -> str:
    """ "g", "s", "gs" for a listed given name / surname, "" otherwise."""
    return person_names().get(word.casefold(), "")
