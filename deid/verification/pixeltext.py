"""The residual-text check: can OCR still read this file's identity in its pixels?

Header checks cannot see burned-in text. Here every text-like line of an output image
(every frame) is read with Tesseract, in process, and compared with the identifying values
of the *input's* header (names, IDs, dates in the ways devices print them, institution):
a value still readable is one finding ``OUTPUT: pixel-data/frame N: patient-name``. The
value and what was read are never reported nor kept.

Which outputs: ``cleaned`` (default) re-reads every image the recipe's Clean Pixel Data
selected; ``all`` every image with Pixel Data, whatever the recipe says. When the OCR
engine cannot run the file gets a finding (``ocr-unavailable``): the gate fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from deid.recipe.model import Recipe
from deid.verification.findings import Finding

PIXEL_MODES = ("cleaned", "all")
#: Header values that identify, and the finding kind each one reports.
NAME_KEYWORDS = {
    "PatientName": "patient-name",
    "ReferringPhysicianName": "person-name",
    "PerformingPhysicianName": "person-name",
    "OperatorsName": "person-name",
}
ID_KEYWORDS = {
    "PatientID": "patient-id",
    "OtherPatientIDs": "patient-id",
    "AccessionNumber": "accession-number",
    "StudyID": "study-id",
}
TEXT_KEYWORDS = {"InstitutionName": "institution"}
DATE_KEYWORDS = {
    "PatientBirthDate": "birth-date",
    "StudyDate": "date",
    "SeriesDate": "date",
    "AcquisitionDate": "date",
    "ContentDate": "date",
}
#: Shorter name parts and IDs match too much by chance in OCR output.
MIN_NAME_PART = 3
MIN_ID = 4
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def _norm(text: str) -> str:
    return _NOT_ALNUM.sub("", text.upper().replace("O", "0"))


def _values(ds: Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None or value == "":
        return []
    items = list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]
    return [str(v) for v in items if str(v).strip()]


def _date_forms(value: str) -> list[str]:
    """A DA value as devices print it: 19620304, 1962-03-04, 04.03.1962, 03/04/1962 ...
    compared without separators."""
    digits = re.sub(r"\D", "", value)[:8]
    if len(digits) != 8:
        return []
    y, m, d = digits[:4], digits[4:6], digits[6:8]
    return sorted({y + m + d, d + m + y, m + d + y, d + m + y[2:], m + d + y[2:]})


def identifying_tokens(ds: Dataset) -> list[tuple[str, str]]:
    """(normalised token, kind) pairs to look for in the text read from the pixels."""
    tokens: list[tuple[str, str]] = []
    for keyword, kind in NAME_KEYWORDS.items():
        for value in _values(ds, keyword):
            for part in re.split(r"[\^= ,]+", value):
                if len(_norm(part)) >= MIN_NAME_PART:
                    tokens.append((_norm(part), kind))
    for keyword, kind in {**ID_KEYWORDS, **TEXT_KEYWORDS}.items():
        for value in _values(ds, keyword):
            if len(_norm(value)) >= MIN_ID:
                tokens.append((_norm(value), kind))
    for keyword, kind in DATE_KEYWORDS.items():
        for value in _values(ds, keyword):
            tokens.extend((form, kind) for form in _date_forms(value))
    return tokens


def selected(original: Dataset, recipe: Recipe, mode: str) -> bool:
    """Whether ``mode`` asks for this file's pixels to be re-read."""
    if "PixelData" not in original:
        return False
    if mode == "all":
        return True
    if not recipe.pixels.enabled:
        return False
    from deid.pixels.clean import selected_for_cleaning

    return selected_for_cleaning(original, recipe.pixels)


def read_lines(out_ds: Dataset) -> Iterator[tuple[int, str]]:
    """(frame, normalised text) of every text-like line OCR reads in the output's frames."""
    from deid.pixels.candidates import find_candidates
    from deid.pixels.ocr import PAGE_MAX_CROPS, _read_page, prepare_crop
    from deid.pixels.render import load_frames, renderings

    # Colour frames are read in their whiteness too: white text over colour (Doppler)
    # shows only there (deid.pixels.render.renderings).
    gray, white = renderings(out_ds, load_frames(out_ds))
    views = [gray] if white is None else [gray, white]
    for view, index in ((v, i) for v in views for i in range(v.shape[0])):
        frame = view[index]
        crops = [
            prepare_crop(frame, (c.x, c.y, c.w, c.h), c.glyph_height)
            for c in find_candidates(frame)
            if c.w >= 1.4 * c.glyph_height
        ]
        for start in range(0, len(crops), PAGE_MAX_CROPS):
            for words in _read_page(crops[start : start + PAGE_MAX_CROPS]):
                text = _norm("".join(w.text for w in words))
                if text:
                    yield index, text


def pixel_findings(
    original: Dataset, out_ds: Dataset, relpath: str, recipe: Recipe, mode: str
) -> list[Finding]:
    """One finding per identifying header value still readable in the output's pixels."""
    if mode not in PIXEL_MODES or not selected(original, recipe, mode):
        return []
    if "PixelData" not in out_ds:
        return []
    tokens = identifying_tokens(original)
    if not tokens:
        return []
    from deid.pixels.render import UnsupportedPixels
    from deid.pixels.tesseract import OcrUnavailable

    found: set[tuple[int, str]] = set()
    try:
        for frame, text in read_lines(out_ds):
            for token, kind in tokens:
                if token in text:
                    found.add((frame, kind))
    except OcrUnavailable:
        return [Finding(relpath, "pixel-data", "ocr-unavailable")]
    except UnsupportedPixels:
        return [Finding(relpath, "pixel-data", "pixels-unreadable")]
    except ImportError:
        return [Finding(relpath, "pixel-data", "ocr-unavailable")]
    return [Finding(relpath, f"pixel-data/frame {f}", kind) for f, kind in sorted(found)]
