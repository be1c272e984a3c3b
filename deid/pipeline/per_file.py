"""One input file -> one :class:`FileRecord`: read, exclude, de-identify, verify, write.

This is the per-file unit every execution path shares (the batch child process, the
duplicate resolver, and ``deid verify`` if it wants the same reading rules). It never
raises for a bad file: every failure becomes a quarantined record whose reason is one line
naming the exception class and a message with quoted values blanked out, because exception
texts can carry element values and the ledger must not become a second copy of them.

Output names come only from the *new* UIDs (``<study>/<series>/<sop>.dcm``), so nothing of the
input path reaches the output. A file with no SOP Instance UID (e.g. a DICOMDIR) is named by
a keyed hash of its bytes instead. Writes are atomic and never overwrite: the temp file is
hard-linked to its final name, which fails if the name exists; an existing file with other
bytes means another input had the same SOP Instance UID and this one is a ``duplicate``
(which input finally wins is settled by :mod:`deid.pipeline.duplicates`).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deid import __version__
from deid.atomic import write_bytes
from deid.dicom.syntax import transfer_syntax_of
from deid.pipeline.destination import DESTINATION_FAILED, is_destination_error
from deid.pipeline.limits import Limits
from deid.pipeline.records import FileRecord
from deid.reading import (  # noqa: F401 - their old home: keep importable from here
    HEAD_SIZE,
    SkipFile,
    check_complete,
    parse,
    read_input,
    sniff,
    unlistable_folder_reason,
)
from deid.storage.remote import RemotePath, Where
from deid.verification.check import check_gathered, gather_identifying
from deid.verification.crossindex import own_terms, run_findings

if TYPE_CHECKING:
    from pydicom import Dataset

    from deid.recipe.model import Recipe

#: A UID is safe as a path component only in its own alphabet (no "/", "..", spaces).
_UID_COMPONENT = re.compile(r"[0-9]+(\.[0-9]+)*")
TEMP_SUFFIX = ".deid-tmp"
DUPLICATE_REASON = "duplicate: another input has the same SOP Instance UID (or identical content)"


#: Why an input DICOMDIR is not copied: its records name the input's files, and the output's
#: files are named by their new UIDs, so a rewritten DICOMDIR would point at nothing.
DICOMDIR_REASON = (
    "DICOMDIR: the input file-set's index, whose records would point at nothing in the "
    "output; for a file-set over the output: deid report LEDGER --dicomdir DIR"
)


@dataclass
class WorkContext:
    """Everything a worker needs per file; built once per partition (or per process)."""

    recipe: Recipe
    keys: Any  # deid.rewrite.keyring.KeyRing
    out_dir: Where
    verify: bool = False
    partition: int = -1
    limits: Limits = field(default_factory=Limits)
    #: Object inputs read ahead (:mod:`deid.storage.prefetch`); None: read when needed.
    prefetch: Any = None
    #: Hand an object output to the caller instead of writing it (the batch child, whose
    #: parent PUTs it while the child works on the next file; see :func:`write_outcome`).
    defer_writes: bool = False
    #: (relative output path, bytes) of the last file, when ``defer_writes``.
    deferred: tuple[str, bytes] | None = None
    #: With ``verify``: the partition's identity index (deid.verification.crossindex).
    cross: bytes = b""


def describe_error(error: BaseException) -> str:
    """``Class: message`` on one line, quoted values blanked, at most 200 characters."""
    message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    from deid.rewrite.quarantine import value_free

    message = value_free(message)
    kind = type(error)
    name = kind.__name__
    if name[:1].islower() and kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"  # zlib's or struct's bare "error" says nothing alone
    text = f"{name}: {message}" if message else name
    return text if len(text) <= 200 else text[:199] + "…"


def _component(value: Any, keys: Any, missing: str) -> str:
    text = str(value or "").strip()
    if not text:
        return missing
    if len(text) <= 64 and _UID_COMPONENT.fullmatch(text):
        return text
    return keys.uid(f"deid-path-component:{text}")


def output_relpath(ds: Dataset, keys: Any, content: bytes) -> str:
    """``<study>/<series>/<sop>.dcm`` from the de-identified data set's UIDs."""
    study = _component(ds.get("StudyInstanceUID"), keys, "no-study")
    series = _component(ds.get("SeriesInstanceUID"), keys, "no-series")
    sop = str(ds.get("SOPInstanceUID") or "").strip()
    if sop:
        name = _component(sop, keys, "")
    else:
        name = keys.uid(f"deid-file-content:{hashlib.sha256(content).hexdigest()}")
    return f"{study}/{series}/{name}.dcm"


#: Outputs are ordinary files of the user's: rw-r--r-- less the umask (deid.atomic).
OUTPUT_MODE = 0o644


def _write(path: Path, data: bytes, exclusive: bool) -> None:
    """``data`` at ``path`` through :func:`deid.atomic.write_bytes`: a temp beside it
    (named ``...`` :data:`TEMP_SUFFIX`, so a killed writer's leftover is swept), the
    umask honoured, never a partial file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data, OUTPUT_MODE, exclusive=exclusive, umask=True, suffix=TEMP_SUFFIX)


def write_unique(path: Where, data: bytes) -> bool:
    """Write ``data`` at ``path`` atomically unless another file is there.

    True when ``path`` now holds exactly ``data`` (written now, or by an earlier attempt of
    the same input); False when it holds other bytes (a duplicate SOP Instance UID).
    Create-only: the temp is hard-linked to the name, which fails if the name exists (on
    file systems without hard links, check-then-rename: a narrow race, but the duplicate
    resolver re-checks every contested name at the end of the run).
    On object storage: one conditional PUT (:func:`deid.storage.objects.write_unique`).
    """
    if isinstance(path, RemotePath):
        from deid.storage.objects import write_unique as write_object

        return write_object(path, data)
    try:
        _write(path, data, exclusive=True)
    except FileExistsError:
        return _same_bytes(path, data)
    return True


def replace_atomic(path: Path, data: bytes) -> None:
    """Overwrite ``path`` atomically: only the duplicate resolver does this, deliberately."""
    if isinstance(path, RemotePath):
        from deid.storage.remote import write_atomic

        write_atomic(path, data)
        return
    _write(path, data, exclusive=False)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _reason(error: Exception) -> str:
    """The engine's own quarantine reasons are value-free by contract; keep them as written."""
    from deid.rewrite.quarantine import QuarantineError

    if isinstance(error, QuarantineError):
        return " ".join(str(error).split()) or "quarantined by the engine"
    return describe_error(error)


@dataclass
class Prepared:
    """A de-identified file ready to write (the resolver writes it itself)."""

    record: FileRecord
    output: bytes


def prepare(path: str, ctx: WorkContext, record: FileRecord) -> Prepared | None:
    """Everything but the write; returns None when the record is final (excluded).

    Library warnings are silenced here, not only in the batch child: pydicom's quote the
    values they complain about ("Invalid value for VR UI: '...'"), and ``prepare`` also runs
    in the client process (the duplicate resolver), whose stderr is the user's terminal.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _prepare(path, ctx, record)


def _prepare(path: str, ctx: WorkContext, record: FileRecord) -> Prepared | None:
    data, kind = read_input(path, ctx.prefetch)
    from deid.rewrite.dicomdir import is_dicomdir
    from deid.rewrite.engine import deidentify
    from deid.rewrite.writer import encode_part10

    ds = parse(data, kind)
    _check_limits(ds, ctx.limits)  # before anything converts a value or decodes a frame
    record.transfer_syntax_in = str(transfer_syntax_of(ds))
    record.sop_class_uid = str(ds.get("SOPClassUID") or "")
    record.modality = _modality(ds)
    if is_dicomdir(ds):
        record.status, record.reason = "excluded", DICOMDIR_REASON
        return None
    rule = ctx.recipe.excluded_by(ds)
    if rule is not None:
        record.status = "excluded"
        record.reason = rule.reason
        return None
    identifying = None
    if ctx.verify:  # the engine rewrites ``ds`` in place: take the needles first
        identifying = gather_identifying(ds, ctx.recipe)
    own = None
    if ctx.verify and ctx.cross:  # this input's own names, whatever its recipe keeps
        own = own_terms(ds)
    result = deidentify(ds, ctx.recipe, ctx.keys)
    out_ds = result.dataset
    output = encode_part10(out_ds)
    record.output_path = output_relpath(out_ds, ctx.keys, data)
    record.sop_instance_uid_in = result.sop_instance_uid_in or ""
    record.series_instance_uid_in = result.series_instance_uid_in or ""
    record.study_instance_uid_in = result.study_instance_uid_in or ""
    record.sop_instance_uid_out = str(out_ds.get("SOPInstanceUID") or "")
    record.series_instance_uid_out = str(out_ds.get("SeriesInstanceUID") or "")
    record.study_instance_uid_out = str(out_ds.get("StudyInstanceUID") or "")
    record.patient_id_in = result.patient_id_in or ""
    record.patient_pseudonym = result.patient_pseudonym or ""
    record.date_offset_days = result.date_offset_days
    record.uid_pairs = uid_pairs_with_kinds(result.uid_map, out_ds)
    record.transfer_syntax_out = result.transfer_syntax_out or str(transfer_syntax_of(out_ds))
    pixel = result.pixel
    if pixel is not None:
        boxes = typed_boxes(pixel.boxes, ctx.recipe, out_ds)
        record.pixel_boxes = boxes
        record.pixel_regions_scrubbed = len(boxes)
        record.transfer_syntax_out = pixel.transfer_syntax_out or record.transfer_syntax_out
    if identifying is not None:
        findings = check_gathered(identifying, output, record.output_path)
        if not findings and ctx.cross:  # another input's identity in this output
            needles = identifying.needles
            findings = run_findings(ctx.cross, needles, own or set(), out_ds, record.output_path)
        if findings:
            record.status = "quarantined"
            record.reason = f"verify: {len(findings)} finding(s), first: {findings[0].line()}"
            record.output_path = ""
            return None
    return Prepared(record, output)


def _modality(ds: Dataset) -> str:
    """The Modality code for the report's counts: a defined term is short upper-case text;
    anything else (a site's free text) is not copied into the ledger."""
    try:
        value = str(ds.get("Modality") or "").strip()
    except Exception:  # a malformed element is the engine's business, not the report's
        return ""
    return (
        value if len(value) <= 16 and value.replace("_", "").isalnum() and value.isupper() else ""
    )


def uid_pairs_with_kinds(uid_map: dict, out_ds: Dataset) -> list[tuple[str, str, str]]:
    """(original, new, kind) for the UID table: what each new UID is in the output (its
    study, series or instance, its frame of reference) or "other" (a referenced UID)."""
    roles = {}
    for keyword, kind in (
        ("FrameOfReferenceUID", "frame_of_reference"),
        ("SOPInstanceUID", "instance"),
        ("SeriesInstanceUID", "series"),
        ("StudyInstanceUID", "study"),
    ):
        value = out_ds.get(keyword)
        if value:
            roles[str(value)] = kind
    return sorted((old, new, roles.get(str(new), "other")) for old, new in uid_map.items())


def typed_boxes(boxes, recipe, out_ds: Dataset) -> list[tuple[int, int, int, int, int, str]]:
    """The pixel step's boxes as the ledger types them, each with its source: "region" when
    it is a recipe's fixed region (as the step pads and clips it), else "ocr"."""
    from deid.pixels.regions import pad_box

    settings = recipe.pixels
    rows, columns = int(out_ds.get("Rows") or 0), int(out_ds.get("Columns") or 0)
    fixed = set()
    for rule in getattr(settings, "regions", None) or ():
        for box in rule.boxes:
            padded = pad_box(tuple(int(v) for v in box), settings, rows, columns)
            if padded is not None:
                fixed.add(tuple(padded))
    return [
        (int(f), int(x), int(y), int(w), int(h), "region" if (x, y, w, h) in fixed else "ocr")
        for f, x, y, w, h in boxes
    ]


def _check_limits(ds: Dataset, limits: Limits) -> None:
    from deid.pipeline.limits import LimitExceeded, check_pixels, check_values

    try:
        check_values(ds, limits.max_value_bytes)
        check_pixels(ds, limits.max_pixel_bytes)
    except LimitExceeded as error:
        raise SkipFile(str(error)) from None


def new_record(path: str, ctx: WorkContext) -> FileRecord:
    return FileRecord(
        input_path=path,
        status="quarantined",
        recipe_digest=ctx.recipe.digest,
        deid_version=__version__,
        partition=ctx.partition,
    )


def _memory_reason(limits: Limits) -> str:
    mib = limits.child_memory_bytes // (1024 * 1024)
    if mib:
        return f"MemoryError: over the per-file memory limit of {mib} MiB (--child-memory-mb)"
    return "MemoryError: out of memory"


#: A record whose output is not written yet (never reaches the ledger: the batch finishes
#: it with :func:`write_outcome` once the PUT is answered).
PENDING_WRITE = "pending-write"


def write_outcome(record: FileRecord, out_dir, unique: bool | None, error=None) -> FileRecord:
    """``record`` after its deferred write: written, duplicate, a destination failure (the
    store refused: the partition fails, see :mod:`deid.pipeline.destination`), or
    quarantined for any other error, exactly as :func:`process_file` decides them."""
    if error is None:
        if unique:
            record.status, record.reason = "written", ""
        else:
            record.status, record.reason = "duplicate", DUPLICATE_REASON
        return record
    record.output_path = ""
    if is_destination_error(error):
        record.status = DESTINATION_FAILED
        record.reason = f"output {out_dir}: {error.strerror}"
    else:
        record.status, record.reason = "quarantined", _reason(error)
    return record


def process_file(path: str, ctx: WorkContext) -> FileRecord:
    """The fate of one input; never raises for anything the file can cause."""
    started = time.perf_counter()
    record = new_record(path, ctx)
    try:
        prepared = prepare(path, ctx, record)
        if prepared is not None:
            target = ctx.out_dir / record.output_path
            if ctx.defer_writes and isinstance(target, RemotePath):
                ctx.deferred = (record.output_path, prepared.output)
                record.status, record.reason = PENDING_WRITE, ""
                record.seconds = time.perf_counter() - started
                return record
            try:
                unique = write_unique(target, prepared.output)
            except OSError as error:
                if not is_destination_error(error):
                    raise
                # Not this file's fate: the partition fails and the run stops (see
                # deid.pipeline.destination); the reason names the volume, not the file.
                record.status = DESTINATION_FAILED
                record.reason = f"output {ctx.out_dir}: {error.strerror}"
                record.output_path = ""
                record.seconds = time.perf_counter() - started
                return record
            if unique:
                record.status, record.reason = "written", ""
            else:
                record.status, record.reason = "duplicate", DUPLICATE_REASON
    except SkipFile as skip:
        record.status, record.reason = "quarantined", str(skip)
    except MemoryError:
        record.status, record.reason = "quarantined", _memory_reason(ctx.limits)
    except Exception as error:  # one bad file never stops the batch
        record.status, record.reason = "quarantined", _reason(error)
    if record.status == "quarantined":
        record.output_path = ""
    record.seconds = time.perf_counter() - started
    return record
