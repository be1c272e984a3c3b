"""Search one output file for the needles of its original, everywhere a value can hide.

Places searched, in order, each finding naming the first place a needle shows up:

1. every element at every nesting level, decoded by pydicom (case-insensitive);
2. the file meta elements (path ``file-meta``);
3. the 128-byte preamble, in the dataset's encodings (path ``preamble``);
4. the raw bytes of the file (deflated data sets inflated first), with the bulk pixel data
   value cut out, for needles not already found decoded (path ``raw-bytes``);
5. the output path relative to the output root (path ``output-path``);
6. the free text values (LO SH ST LT UT UC) again, for the original's dates in every
   spelling the engine removes from free text (:func:`deid.dicom.date_forms.date_patterns`).

Needles contained in the text the engine generates from the recipe (the de-identification
marking: see :func:`deid.verification.values.generated_text`) are not leaks; the marking
attributes themselves are searched like any other, so an identity copied into them is found.
Binary values (OB, UN, ...) and the raw bytes are searched only for needles of at least
:data:`MIN_BINARY_NEEDLE` bytes: a 4-byte name "found" in compressed or random binary data is
noise, not a leak. Bulk pixel data is never scanned as bytes (burned-in text is an image;
that is the pixel step's job).
"""

from __future__ import annotations

import bisect
import io
import re
import warnings
import zlib
from typing import Any

import pydicom
from pydicom.charset import encode_string
from pydicom.dataset import Dataset

from deid.dicom.date_forms import date_regex
from deid.dicom.uids import DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN as DEFLATED
from deid.dicom.vrs import TEXT_VRS
from deid.verification.findings import Finding
from deid.verification.textscan import scan_free_text
from deid.verification.values import IdentifyingSet, Needle, fold, kind_for
from deid.verification.walk import BULK_TAGS, elements, value_bytes, value_strings, walk

MIN_BINARY_NEEDLE = 6

_DIGITS = frozenset(b"0123456789")
_DIGITS_DOTS = frozenset(b"0123456789.")
_ALNUM_BYTES = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Needles of these kinds are also looked for across the edge of two adjacent values
#: ("series Skuta" / "thlyx part"), when at least this long.
SPLIT_KINDS = frozenset({"patient-name", "person-name", "patient-id"})
MIN_SPLIT_NEEDLE = 6
_WORDS = re.compile(r"[^\W_]+")


def _bounded(haystack: str | bytes, start: int, length: int, boundary: str) -> bool:
    """True when a match at ``start`` is a whole token for its boundary rule."""
    if not boundary:
        return True
    before = haystack[start - 1] if start > 0 else None
    end = start + length
    after = haystack[end] if end < len(haystack) else None
    if boundary == "word":
        return not _alnum(before) and not _alnum(after)
    chars: Any = "0123456789" if boundary == "digits" else "0123456789."
    if isinstance(haystack, bytes):
        chars = _DIGITS if boundary == "digits" else _DIGITS_DOTS
    return before not in chars and after not in chars


def _alnum(char: Any) -> bool:
    if char is None:
        return False
    if isinstance(char, int):
        return char in _ALNUM_BYTES
    return char.isalnum()


def _find(haystack: str | bytes, needle: str | bytes, boundary: str) -> list[int]:
    """Offsets of every whole-token occurrence of ``needle``."""
    found = []
    index = haystack.find(needle)  # type: ignore[arg-type]
    while index != -1:
        if _bounded(haystack, index, len(needle), boundary):
            found.append(index)
        index = haystack.find(needle, index + 1)  # type: ignore[arg-type]
    return found


def needle_bytes(needle: Needle, encodings: list[str]) -> set[bytes]:
    """The needle as it would be stored: the dataset's encodings, UTF-8, Latin-1 and UTF-16
    (both byte orders: a vendor's private OB may hold Windows text), lowered."""
    forms: set[bytes] = set()
    for encode in (
        lambda t: encode_string(t, encodings),
        lambda t: t.encode("utf-8"),
        lambda t: t.encode("latin-1"),
        lambda t: t.encode("utf-16-le"),
        lambda t: t.encode("utf-16-be"),
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forms.add(encode(needle.text).lower())
        except Exception:  # not representable in that encoding
            continue
    return {f for f in forms if f}


class _Haystack:
    """Decoded text of many elements joined, with a path for every offset."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.paths: list[str] = []
        self.kinds: list[str] = []
        #: Indexes of the parts that are free text (the engine's Clean text VRs).
        self.free: list[int] = []
        self._edges: tuple[list[tuple[str, int]], dict[str, int]] | None = None
        self.length = 0
        self.blobs: list[tuple[str, bytes]] = []
        self.text = ""

    def add(self, path: str, text: str, kind: str = "", free: bool = False) -> None:
        folded = fold(text)
        if free:
            self.free.append(len(self.parts))
        self.starts.append(self.length)
        self.paths.append(path)
        self.kinds.append(kind)
        self.parts.append(folded)
        self.length += len(folded) + 1

    def freeze(self) -> None:
        self.text = "\x00".join(self.parts)

    def path_at(self, offset: int) -> str:
        return self.paths[bisect.bisect_right(self.starts, offset) - 1]

    def whole(self, needle: Needle) -> list[str]:
        """Paths of the values of the needle's own kind equal to it (rule 5 of values)."""
        return [
            self.paths[i]
            for i, part in enumerate(self.parts)
            if self.kinds[i] == needle.kind and part.strip(" \x00") == needle.folded
        ]

    def split(self, needle: Needle) -> list[str]:
        """Paths where the needle is cut in two values of the file: one ends with its start
        and another begins with the rest, each a whole word of two characters or more
        ("series Skuta" / "thlyx part")."""
        if self._edges is None:
            self._edges = ([], {})
            for i, part in enumerate(self.parts):
                words = _WORDS.findall(part)
                if words:
                    self._edges[0].append((words[-1], i))
                    self._edges[1].setdefault(words[0], i)
        last_words, first_words = self._edges
        found = []
        for word, i in last_words:
            if 2 <= len(word) <= len(needle.folded) - 2 and needle.folded.startswith(word):
                j = first_words.get(needle.folded[len(word) :])
                if j is not None and j != i:
                    found.append(self.paths[i])
        return found


def _collect(dataset: Dataset, haystack: _Haystack, prefix: str) -> None:
    def visit(path: str, element: Any, level: Dataset, state: Any) -> Any:
        tag = int(element.tag)
        here = prefix or path
        kind = kind_for(tag, element.VR or "UN", (tag >> 16) % 2 == 1)
        free = element.VR in TEXT_VRS
        for text in value_strings(element):
            haystack.add(here, text, kind, free)
        if level is dataset and tag in BULK_TAGS:
            return None
        raw = value_bytes(element)
        if raw:
            haystack.blobs.append((here, raw.lower()))
        return None

    walk(dataset, visit)


def _raw_region(output: bytes, dataset: Dataset) -> bytes:
    """The bytes after the preamble, inflated if deflated, with bulk pixel values cut out."""
    start = 132 if output[128:132] == b"DICM" else 0
    body = output[start:]
    meta = getattr(dataset, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    group_length = meta.get("FileMetaInformationGroupLength") if meta is not None else None
    if syntax == DEFLATED and isinstance(group_length, int):
        meta_end = 12 + group_length
        try:
            inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body[meta_end:])
            body = body[:meta_end] + inflated
        except zlib.error:
            pass
    for tag in BULK_TAGS:
        if tag not in dataset:
            continue
        try:
            value = dataset[tag].value
        except Exception:
            continue
        if isinstance(value, (bytes, bytearray)) and len(value) > 64:
            at = body.rfind(bytes(value))
            if at != -1:
                body = body[:at] + body[at + len(value) :]
    return body


def read_output(output: bytes) -> Dataset | None:
    """The output parsed by pydicom, every element converted; None if it cannot be read.

    No ``force``: an output must be a Part 10 file (preamble, DICM, file meta)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(output))
            list(elements(dataset))  # convert now so a broken output fails here, once
    except Exception:
        return None
    return dataset


def scan_output(ident: IdentifyingSet, output: bytes, relpath: str) -> list[Finding]:
    """Every place in ``output`` (and its path) where a needle of ``ident`` appears."""
    dataset = read_output(output)
    if dataset is None:
        return [Finding(relpath, "file", "unreadable-output")]
    return scan_dataset(ident, output, dataset, relpath)


def scan_dataset(
    ident: IdentifyingSet, output: bytes, dataset: Dataset, relpath: str
) -> list[Finding]:
    """:func:`scan_output` for an output already parsed by :func:`read_output`."""
    findings: dict[tuple[str, str], None] = {}

    def report(path: str, kind: str) -> None:
        findings.setdefault((path, kind), None)

    haystack = _Haystack()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _collect(dataset, haystack, "")
        meta = getattr(dataset, "file_meta", None)
        if meta is not None:
            _collect(meta, haystack, "file-meta")
    haystack.freeze()
    if ident.recipe is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for finding in scan_free_text(dataset, ident.recipe, relpath):
                report(finding.path, finding.kind)
    dates = date_regex(ident.dates) if ident.dates else None
    if dates is not None:  # every spelling the engine removes from free text
        for i in haystack.free:
            if dates.search(haystack.parts[i]):
                report(haystack.paths[i], "date")
    needles = [n for n in ident.needles if n.folded not in ident.generated]
    if not needles:
        return [Finding(relpath, path, kind) for path, kind in findings]

    found: set[str] = set()
    for needle in [n for n in needles if n.boundary == "whole"]:
        for path in haystack.whole(needle):
            report(path, needle.kind)
    needles = [n for n in needles if n.boundary != "whole"]
    for needle in needles:
        if needle.kind in SPLIT_KINDS and len(needle.folded) >= MIN_SPLIT_NEEDLE:
            for path in haystack.split(needle):
                report(path, needle.kind)
    encoded = {n.folded: needle_bytes(n, ident.encodings) for n in needles}
    for needle in needles:
        for offset in _find(haystack.text, needle.folded, needle.boundary):
            report(haystack.path_at(offset), needle.kind)
            found.add(needle.folded)
        for path, blob in haystack.blobs:
            forms = [f for f in encoded[needle.folded] if len(f) >= MIN_BINARY_NEEDLE]
            if any(_find(blob, f, needle.boundary) for f in forms):
                report(path, needle.kind)
                found.add(needle.folded)

    if output[128:132] == b"DICM":
        preamble = output[:128].lower()
        for needle in needles:
            if any(_find(preamble, f, needle.boundary) for f in encoded[needle.folded]):
                report("preamble", needle.kind)
                found.add(needle.folded)

    raw = _raw_region(output, dataset).lower()
    for needle in needles:
        if needle.folded in found:
            continue
        forms = [f for f in encoded[needle.folded] if len(f) >= MIN_BINARY_NEEDLE]
        if any(_find(raw, f, needle.boundary) for f in forms):
            report("raw-bytes", needle.kind)

    folded_path = relpath.casefold()
    for needle in needles:
        if _find(folded_path, needle.folded, needle.boundary):
            report("output-path", needle.kind)

    return [Finding(relpath, path, kind) for path, kind in findings]
