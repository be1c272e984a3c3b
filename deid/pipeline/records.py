"""The ledger's row types and their Parquet schemas.

The ledger is the only place where an output links back to its input and identity, so it
lives outside the output tree and its files are owner-readable only. Columns may be added;
renaming or removing one breaks every ledger already written, so don't.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
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
    modality: str = ""
    patient_id_in: str = ""
    patient_pseudonym: str = ""
    date_offset_days: int | None = None
    #: Boxes blacked out: (frame, x, y, width, height, source), source "ocr" or "region";
    #: never the text read.
    pixel_boxes: list[tuple[int, int, int, int, int, str]] = field(default_factory=list)
    pixel_regions_scrubbed: int = 0
    transfer_syntax_in: str = ""
    transfer_syntax_out: str = ""
    recipe_digest: str = ""
    deid_version: str = ""
    seconds: float = 0.0
    partition: int = -1
    #: (original, new, kind) of every UID the file's rewrite remapped; kind is one of
    #: :data:`UID_KINDS`.
    uid_pairs: list[tuple[str, str, str]] = field(default_factory=list, repr=False)
    #: A PACS destination's answer for this file ("STOW-RS stored", "C-STORE 0x0000", ...);
    #: empty for a folder output (see deid.pipeline.pacs_partition).
    destination_status: str = ""

    def values(self) -> tuple:
        """Every field in order: what the child sends its parent (a tuple pickles in a
        fraction of the time the dataclass takes, once per file on both sides)."""
        return tuple(getattr(self, name) for name in _FIELDS)

    @classmethod
    def from_values(cls, values: tuple) -> FileRecord:
        return cls(*values)

    def row(self) -> dict:
        """The ledger row: every field but ``uid_pairs``. Absent values are nulls, never
        ``''``: the worker fills ``''`` where a file has no value, and a query that asks
        ``output_path IS NULL`` must find every file that has no output."""
        row = {name: getattr(self, name) for name in _ROW_FIELDS}
        for name in _NULLABLE_TEXT:
            if row[name] == "":
                row[name] = None
        row["pixel_boxes"] = [dict(zip(BOX_FIELDS, box)) for box in (self.pixel_boxes or ())]
        return row


_FIELDS = tuple(f.name for f in fields(FileRecord))
_ROW_FIELDS = tuple(name for name in _FIELDS if name != "uid_pairs")
_NULLABLE_TEXT = tuple(
    f.name for f in fields(FileRecord) if f.type == "str" and f.name not in ("input_path", "status")
)
#: Members of one ``pixel_boxes`` struct, in order.
BOX_FIELDS = ("frame", "x", "y", "width", "height", "source")
#: What a remapped UID was, in the order a UID seen in several roles is classified.
UID_KINDS = ("study", "series", "instance", "frame_of_reference", "other")


def _box_type(pa):
    return pa.struct(
        [
            ("frame", pa.int32()),
            ("x", pa.int32()),
            ("y", pa.int32()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("source", pa.string()),
        ]
    )


@cache
def _schemas() -> dict[str, pa.Schema]:
    """Built on first use: the per-file child process only needs :class:`FileRecord`, and
    importing pyarrow would add about 0.15 s to every child's start."""
    import pyarrow as pa

    files = pa.schema(
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
            ("modality", pa.string()),
            ("patient_id_in", pa.string()),
            ("patient_pseudonym", pa.string()),
            ("date_offset_days", pa.int32()),
            ("pixel_boxes", pa.list_(_box_type(pa))),
            ("pixel_regions_scrubbed", pa.int32()),
            ("transfer_syntax_in", pa.string()),
            ("transfer_syntax_out", pa.string()),
            ("recipe_digest", pa.string()),
            ("deid_version", pa.string()),
            ("seconds", pa.float64()),
            ("partition", pa.int64()),
            ("destination_status", pa.string()),
        ]
    )

    uids = pa.schema([("uid_old", pa.string()), ("uid_new", pa.string()), ("kind", pa.string())])
    return {"FILES_SCHEMA": files, "UIDS_SCHEMA": uids}


def __getattr__(name: str):
    if name in ("FILES_SCHEMA", "UIDS_SCHEMA"):
        return _schemas()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
