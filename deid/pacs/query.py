"""Parse ``--query`` (QIDO-RS style matching keys) into study-level and series-level filters.

``ModalitiesInStudy=CT&StudyDate=20240101-20241231`` filters studies; a repeated
``StudyInstanceUID`` (or ``SeriesInstanceUID``) lists those studies (series) one by one, since
servers differ in UID-list matching. Keys are DICOM keywords; anything else is a usage error,
found before anything is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from pydicom.datadict import dictionary_VR, tag_for_keyword

from deid.errors import UserError

# Keys matched against series, not studies (PS3.4 C.6.1.1.3 Series level unique/required keys).
SERIES_LEVEL = {
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "BodyPartExamined",
    "SeriesDate",
}
REPEATABLE = {"StudyInstanceUID", "SeriesInstanceUID"}


@dataclass(frozen=True)
class Query:
    study_keys: dict[str, str] = field(default_factory=dict)
    series_keys: dict[str, str] = field(default_factory=dict)
    study_uids: tuple[str, ...] = ()
    series_uids: tuple[str, ...] = ()


def parse_query(text: str | None) -> Query:
    if not text:
        return Query()
    study: dict[str, str] = {}
    series: dict[str, str] = {}
    study_uids: list[str] = []
    series_uids: list[str] = []
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise UserError(f"--query {text!r}: expected KEY=VALUE pairs joined by '&'") from None
    for key, value in pairs:
        if tag_for_keyword(key) is None:
            raise UserError(f"--query: {key!r} is not a DICOM keyword (e.g. StudyDate, Modality)")
        if dictionary_VR(key) == "SQ":
            raise UserError(f"--query: {key} is a sequence; only plain attributes can be matched")
        if key == "StudyInstanceUID":
            study_uids.append(value)
            continue
        if key == "SeriesInstanceUID":
            series_uids.append(value)
            continue
        target = series if key in SERIES_LEVEL else study
        if key in target:
            raise UserError(f"--query: {key} is given twice (only UIDs may repeat)")
        target[key] = value
    for uid in study_uids + series_uids:
        if not uid or not all(part.isdigit() for part in uid.split(".")) or len(uid) > 64:
            raise UserError(f"--query: {uid!r} is not a UID")
    return Query(study, series, tuple(study_uids), tuple(series_uids))
