"""Every output searched for the identities of *all* inputs of the run, in bounded memory.

Verify searches each output for its own original's values (:mod:`deid.verification.scan`);
another patient's name pasted into a comment is no value of that original. So before the
per-file checks, one pass over the inputs collects, from each original, the identifying
values that name a person or a record (kinds patient-name, person-name, patient-id,
accession), as 64-bit hashes of their folded text:

* whole names, each component group spaced ("maria lopez"), two to three words;
* single name components of four letters or more that are no common word of a language
  and no word of medicine (a surname such as "Okafor"; not "Rose" or "Lopez", which text
  uses for other things; the whole name still catches those);
* IDs of six characters or more with a digit.

The index is a sorted ``numpy.uint64`` array: 8 bytes a value, looked up with one
vectorised ``searchsorted`` per output. It holds at most :data:`MAX_TERMS` hashes (32 MB);
a run with more keeps an even sample of them (hashes are uniform, so the first
:data:`MAX_TERMS` in hash order are one) and reports ``cross-index-full`` once, so a partial
check never passes for a whole one.

Each output's words and runs of two and three words are hashed the same way and looked up;
a hit that is also a term of the output's own original is left to the per-file check (its
rules know what the recipe keeps), any other is an ``other-patient`` finding.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from deid.reading import parse, read_input
from deid.recipe.model import Recipe
from deid.text import vocabulary
from deid.verification.findings import Finding
from deid.verification.values import gather
from deid.verification.walk import value_strings, walk

#: Most hashes the index holds (8 bytes each).
MAX_TERMS = 4_000_000
NAME_KINDS = frozenset({"patient-name", "person-name"})
ID_KINDS = frozenset({"patient-id", "accession"})
_WORD = re.compile(r"[^\W_]+")
_EMPTY = np.zeros(0, dtype=np.uint64)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def term_hash(text: str) -> int:
    """The 64-bit hash of a folded term (words joined by one space)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _distinct_word(word: str) -> bool:
    return (
        len(word) >= 4
        and word.isalpha()
        and not vocabulary.is_common(word)
        and not vocabulary.is_medical(word)
    )


def terms_of(original: Dataset, recipe: Recipe) -> set[str]:
    """The folded terms of one original (see the module docstring)."""
    return terms_of_needles(gather(original, recipe).needles)


def terms_of_needles(needles: Iterable[Any]) -> set[str]:
    """The folded terms of an original's needles (:func:`deid.verification.values.gather`),
    for a caller that gathered them already (``deid run --verify``)."""
    terms: set[str] = set()
    for needle in needles:
        words = _WORD.findall(_fold(needle.text))
        if needle.kind in NAME_KINDS:
            if 2 <= len(words) <= 3:
                terms.add(" ".join(words))
            elif len(words) == 1 and _distinct_word(words[0]):
                terms.add(words[0])
        elif needle.kind in ID_KINDS:
            text = _fold(needle.text).strip()
            if len(text) >= 6 and any(c.isdigit() for c in text) and len(words) == 1:
                terms.add(text)
    return terms


class _Value:
    """A needle-like (kind, text) pair for :func:`terms_of_needles`."""

    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str) -> None:
        self.kind, self.text = kind, text


_OWN_IDS = frozenset({0x00100020, 0x00080050})  # Patient ID, Accession Number


def own_terms(original: Dataset) -> set[str]:
    """Every name and ID term of ``original`` at any depth, whatever the recipe keeps.

    Why: the run's index holds each input's *needles*; a physician who signs every file of
    a site is a needle of the files whose recipe removes him, not of one whose recipe keeps
    a comment that names him. That comment is the per-file check's business (it knows what
    the recipe keeps); it is no other patient's identity. Take it before the engine
    rewrites the dataset in place."""
    values: list[_Value] = []

    def visit(path: str, element: Any, level: Dataset, state: Any) -> Any:
        vr = getattr(element, "VR", "")
        if vr == "PN":
            for text in value_strings(element):
                for group in text.split("="):
                    values.append(_Value("person-name", group.replace("^", " ")))
                    values.extend(_Value("person-name", c) for c in group.split("^") if c)
        elif int(element.tag) in _OWN_IDS:
            values.extend(_Value("patient-id", t) for t in value_strings(element))
        return None

    with contextlib.suppress(Exception):  # undecodable: what could be read still counts
        walk(original, visit, paths=False)
    return terms_of_needles(values)


def hashes(terms: Iterable[str]) -> np.ndarray:
    return np.unique(np.fromiter((term_hash(t) for t in terms), dtype=np.uint64))


def merge(parts: Iterable[np.ndarray]) -> tuple[np.ndarray, bool]:
    """One sorted index from partition arrays; True when it was cut to :data:`MAX_TERMS`."""
    arrays = [p for p in parts if len(p)]
    index = np.unique(np.concatenate(arrays)) if arrays else _EMPTY
    if len(index) > MAX_TERMS:
        return index[:MAX_TERMS], True
    return index, False


def _candidates(dataset: Dataset) -> dict[int, str]:
    """hash -> attribute path for every word and run of two or three words of the output."""
    found: dict[int, str] = {}

    def visit(path: str, element: Any, level: Dataset, state: Any) -> Any:
        for text in value_strings(element):
            words = _WORD.findall(_fold(text))
            for size in (1, 2, 3):
                for i in range(len(words) - size + 1):
                    term = " ".join(words[i : i + size])
                    if size > 1 or len(term) >= 4:
                        found.setdefault(term_hash(term), path)
        return None

    walk(dataset, visit)
    return found


class CrossIndex:
    """The run's index of identities, searched in each output."""

    def __init__(self, index: np.ndarray) -> None:
        self.index = index

    @classmethod
    def from_bytes(cls, data: bytes) -> CrossIndex:
        return cls(np.frombuffer(data, dtype=np.uint64) if data else _EMPTY)

    def __bool__(self) -> bool:
        return bool(len(self.index))

    def findings(self, output: Dataset, original: Dataset, recipe: Recipe, relpath: str):
        """``other-patient`` findings: the output holds a term of another input."""
        if not len(self.index):
            return []
        candidates = _candidates(output)
        if not len(self._hits(candidates)):
            return []  # the common case: no need to gather the original's own terms
        own = terms_of(original, recipe) | own_terms(original)
        return self.findings_against(output, own, relpath, candidates)

    def _hits(self, candidates: dict[int, str]) -> np.ndarray:
        """The hashes of ``candidates`` that are in the index."""
        if not candidates:
            return np.empty(0, dtype=np.uint64)
        keys = np.fromiter(candidates, dtype=np.uint64)
        at = np.searchsorted(self.index, keys)
        at[at >= len(self.index)] = 0
        return keys[self.index[at] == keys]

    def findings_against(
        self, output: Dataset, own_terms: set[str], relpath: str, candidates=None
    ) -> list[Finding]:
        """:meth:`findings` with the original's own terms given (taken before the engine
        rewrote it in place, as ``deid run --verify`` does)."""
        if not len(self.index):
            return []
        candidates = _candidates(output) if candidates is None else candidates
        hits = self._hits(candidates)
        own = {term_hash(t) for t in own_terms}
        paths = sorted({candidates[int(h)] for h in hits if int(h) not in own})
        return [Finding(relpath, path, "other-patient") for path in paths]


@lru_cache(maxsize=2)
def from_bytes_cached(data: bytes) -> CrossIndex:
    """One :class:`CrossIndex` per partition's bytes in a worker child (each file of the
    partition arrives with the same bytes)."""
    return CrossIndex.from_bytes(data)


def run_findings(
    data: bytes, needles: Iterable[Any], own: set[str], output: Dataset, relpath: str
) -> list[Finding]:
    """``deid run --verify``: the output searched for the identities of the other inputs of
    its partition (``data``: :func:`index_partition`'s array as bytes), its own (``own``,
    :func:`own_terms` of the original, and its needles) excepted."""
    if not data:
        return []
    terms = terms_of_needles(needles) | own
    return from_bytes_cached(data).findings_against(output, terms, relpath)


def input_hashes(
    path: str, recipe: Recipe, check: Callable[[Dataset], None] | None = None
) -> np.ndarray:
    """The hashes of one input's terms; none for an input that cannot be read or parsed,
    or that ``check`` refuses (the run's ``--max-value-kb``): such an input is quarantined
    by its own per-file step, with the reason."""
    import warnings

    with warnings.catch_warnings():  # pydicom's warnings quote values
        warnings.simplefilter("ignore")
        try:
            data, kind = read_input(path)
            dataset = parse(data, kind)
            if check is not None:
                check(dataset)
            return hashes(terms_of(dataset, recipe))
        except Exception:
            return _EMPTY


def index_partition(paths: list[str], setup: Any) -> np.ndarray:
    """The hashes of one partition's inputs, read in this process (``deid verify``'s index;
    ``deid run --verify`` has its per-file children read them, under the time limit).

    Bounded: a partition holds at most ``--partition-size`` inputs, a few terms each."""
    import pickle

    recipe = pickle.loads(setup.recipe_pickle)
    return merge(input_hashes(path, recipe) for path in paths)[0]
