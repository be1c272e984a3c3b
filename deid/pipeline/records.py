"""The ledger's row types and their Parquet schemas.

The ledger is the only place where an output links back to its input and identity, so it
lives outside the output tree and its files are owner-readable only. Columns may be added;
renaming or removing one breaks every ledger already written, so don't.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pyarrow as pa

Status = Literal["written", "quarantined", "excluded", "duplicate"]
STATUSES: tuple[str, ...] = ("written", "quarantined", "excluded", "duplicate")


@dataclass
class FileRecord:
    """The fate of one input file."""

    input_path: str
    status: str
    reason: str = ""
    output_path: str = ""  # relative to the output root
    sop_instance_uid_in: str = ""
    sop_instance_uid_out: str = ""
    series_instance_uid_in: str = ""
    series_instance_uid_out: str = ""
    study_instance_uid_in: str = ""
    study_instance_uid_out: str = ""
    sop_class_uid: str = ""
    patient_id_in: str = ""
    patient_pseudonym: str = ""
    date_offset_days: int | None = None
    #: Boxes blacked out, JSON: [[frame, x, y, width, height], ...]; never the text read.
    pixel_boxes: str = "[]"
    pixel_regions_scrubbed: int = 0
    transfer_syntax_in: str = ""
    transfer_syntax_out: str = ""
    recipe_digest: str = ""
    deid_version: str = ""
    seconds: float = 0.0
    partition: int = -1
    uid_pairs: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def row(self) -> dict:
        data = asdict(self)
        data.pop("uid_pairs")
        return data


FILES_SCHEMA = pa.schema(
    [
        ("input_path", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("output_path", pa.string()),
        ("sop_instance_uid_in", pa.string()),
        ("sop_instance_uid_out", pa.string()),
        ("series_instance_uid_in", pa.string()),
        ("series_instance_uid_out", pa.string()),
        ("study_instance_uid_in", pa.string()),
        ("study_instance_uid_out", pa.string()),
        ("sop_class_uid", pa.string()),
        ("patient_id_in", pa.string()),
        ("patient_pseudonym", pa.string()),
        ("date_offset_days", pa.int32()),
        ("pixel_boxes", pa.string()),
        ("pixel_regions_scrubbed", pa.int32()),
        ("transfer_syntax_in", pa.string()),
        ("transfer_syntax_out", pa.string()),
        ("recipe_digest", pa.string()),
        ("deid_version", pa.string()),
        ("seconds", pa.float64()),
        ("partition", pa.int64()),
    ]
)

UIDS_SCHEMA = pa.schema([("uid_old", pa.string()), ("uid_new", pa.string())])
