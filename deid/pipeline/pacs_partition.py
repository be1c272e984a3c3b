"""One partition of a run whose INPUT or ``--out`` is a PACS, inside a Dask worker.

fetch (source) -> the normal per-file step (the worker's child, exactly as for files) ->
send (destination). The instances and the outputs live only in a private, owner-only
staging folder of the worker process while the partition runs; each is removed once its
fate is known, the partition's input folder when the partition ends.

Every instance listed ends as one ledger record: written (and, for a PACS destination,
stored: ``destination_status`` holds the archive's answer), excluded, duplicate or
quarantined with its reason. A transient failure (after the retries) is quarantined with
:data:`RETRY_NOTE` in its reason and the partition's ledger part says so
(:data:`deid.pipeline.ledger.RETRY_KEY`): the rerun redoes that partition, and only the
instances the ledger does not already record as finished.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from deid import __version__
from deid.pacs import sink, source
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.records import FileRecord

#: Ends the reason of an instance quarantined for a transient cause.
RETRY_NOTE = "(transient: a rerun of the same command retries it)"

Endpoint = DicomwebEndpoint | DimseEndpoint


@dataclasses.dataclass(frozen=True)
class PacsSetup:
    """The PACS ends of a run (either may be None: a folder), scattered with the RunSetup."""

    source: Endpoint | None = None
    dest: Endpoint | None = None
    #: C-MOVE instead of C-GET: (deid's AE title, the run's receiving folder); see move.
    move: tuple[str, str] | None = None


_lock = threading.Lock()
_root: Path | None = None


def staging_root() -> Path:
    """This process's staging folder (mode 0700 from mkdtemp), removed when it exits.

    A worker killed with -9 cannot remove its folder: the next one sweeps the folders of
    processes that no longer exist (the name carries the pid), so neither originals nor
    outputs stay in the temp folder longer than until the rerun.
    """
    global _root
    with _lock:
        if _root is None or not _root.is_dir():
            _sweep_orphans()
            _root = Path(tempfile.mkdtemp(prefix=f"deid-pacs-{os.getpid()}-"))
            (_root / "out").mkdir(mode=0o700)
            atexit.register(shutil.rmtree, str(_root), True)
        return _root


def _sweep_orphans() -> None:
    for folder in Path(tempfile.gettempdir()).glob("deid-pacs-*-*"):
        pid = folder.name.split("-")[2]
        try:
            if folder.stat().st_uid != os.getuid() or not pid.isdigit():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _previous_records(ledger: Path, index: int, content_hash: str, setup: Any) -> list:
    """The records of this partition's earlier part that are final (not transient): a
    rerun keeps them and does not fetch or send those instances again. Only a part of this
    very partition (same hash) whose only fault is transient failures counts: a part of
    another plan, one written without a now-asked ``--verify`` or under lower limits is
    redone whole."""
    files = ledger_mod.part_path(ledger, "files", index)
    state = ledger_mod.partition_state(ledger, index, content_hash, setup.verify, setup.limits)
    if not files.exists() or state != ledger_mod.TRANSIENT:
        return []
    kept = []
    names = {f.name for f in dataclasses.fields(FileRecord)} - {"uid_pairs"}
    for row in pq.read_table(files).to_pylist():
        if RETRY_NOTE in (row.get("reason") or ""):
            continue
        values: dict[str, Any] = {
            k: ("" if v is None and k != "date_offset_days" else v)
            for k, v in row.items()
            if k in names
        }
        values["pixel_boxes"] = [tuple(b.values()) for b in values.get("pixel_boxes") or ()]
        kept.append(FileRecord(**values))
    uids = ledger_mod.part_path(ledger, "uids", index)
    if kept and uids.exists():  # the part's UID pairs stay with the records kept
        table = pq.read_table(uids).to_pylist()
        kept[0].uid_pairs = [(r["uid_old"], r["uid_new"], r.get("kind") or "other") for r in table]
    return kept


def _quarantine(record, reason: str, transient: bool) -> None:
    record.status = "quarantined"
    record.reason = f"{reason} {RETRY_NOTE}" if transient else reason
    record.output_path = ""


#: Instances per chunk: the next chunk is fetched, and the last one sent, while the
#: worker's child de-identifies this one, so network and archive latency overlap with work.
CHUNK = 16

_active = 0  # partitions running in this process (they share the "out" staging folder)


def _enter() -> None:
    global _active
    with _lock:
        _active += 1


def _leave(out_stage: Path) -> None:
    """Remove the empty study/series folders the child made, once no partition of this
    process is running (a child could otherwise be about to write into one)."""
    global _active
    with _lock:
        _active -= 1
        if _active:
            return
        for folder in sorted(out_stage.glob("*/*"), reverse=True) + sorted(out_stage.glob("*")):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _fetch_failure(item, setup: Any, index: int):
    record = FileRecord(
        input_path=item.name,
        status="quarantined",
        recipe_digest=setup.recipe_digest,
        deid_version=__version__,
        partition=index,
        sop_instance_uid_in=item.ref.sop_uid,
        series_instance_uid_in=item.ref.series_uid,
        study_instance_uid_in=item.ref.study_uid,
        sop_class_uid=item.ref.sop_class_uid or "",
    )
    _quarantine(record, item.reason or "fetch failed", item.transient)
    return record


def process_partition(
    paths: list[str],
    index: int,
    setup: Any,
    progress: Any,
    process_files,
    content_hash: str = "",
) -> tuple[list, dict[bytes, bytes]]:
    """(records, extra part metadata) of one partition; ``process_files`` is the normal
    per-file step (:func:`deid.pipeline.partition._process_files`)."""
    from concurrent.futures import ThreadPoolExecutor

    pacs: PacsSetup = setup.pacs
    root = staging_root()
    out_stage = root / "out"
    kept = _previous_records(Path(setup.ledger_dir), index, content_hash, setup)
    done = {r.input_path for r in kept}
    child_setup = setup
    if pacs.dest is not None:  # the child writes where this worker sends from
        child_setup = dataclasses.replace(setup, out_dir=str(out_stage))
    records: list = []
    _enter()
    inbox = Path(tempfile.mkdtemp(prefix=f"in-{index}-", dir=root))
    try:
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(ThreadPoolExecutor(2, thread_name_prefix="deid-pacs"))
            fetcher = None
            if pacs.source is not None:
                fetcher = stack.enter_context(source.Fetcher(pacs.source, move=pacs.move))
                todo: list = fetcher.list_partition(paths, done)
            else:
                todo = [p for p in paths if p not in done]
            sender = stack.enter_context(sink.Sender(pacs.dest)) if pacs.dest else None
            chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
            fetching = None
            if fetcher is not None and chunks:
                fetching = pool.submit(fetcher.fetch, chunks[0], inbox, 0)
            sending = None
            for number, chunk in enumerate(chunks):
                names: dict[str, str] = {}
                if fetcher is not None and fetching is not None:
                    fetched = fetching.result()
                    if number + 1 < len(chunks):
                        following = chunks[number + 1]
                        fetching = pool.submit(
                            fetcher.fetch, following, inbox, (number + 1) * CHUNK
                        )
                    for item in fetched:
                        if item.path is None:
                            records.append(_fetch_failure(item, setup, index))
                            progress.add(records[-1])
                        else:
                            names[str(item.path)] = item.name
                    inputs = list(names)
                else:
                    inputs = chunk
                processed = process_files(inputs, index, child_setup, progress)
                for record in processed:
                    record.input_path = names.get(record.input_path, record.input_path)
                for staged in names:  # the originals' bytes: gone once processed
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(staged)
                if sender is not None:
                    if sending is not None:
                        sending.result()
                    sending = pool.submit(_send, sender, processed, out_stage)
                records += processed
            if sending is not None:
                sending.result()
    finally:
        shutil.rmtree(inbox, ignore_errors=True)
        _leave(out_stage)
    records += kept
    extra = {}
    if any(RETRY_NOTE in (r.reason or "") for r in records):
        extra[ledger_mod.RETRY_KEY] = b"1"
    return records, extra


def _send(sender, records: list, out_stage: Path) -> None:
    """Send every written record's staged output; record the answer; remove the file."""
    written = [r for r in records if r.status == "written"]
    files = [out_stage / r.output_path for r in written]
    try:
        answers = sender.send(files, [r.sop_instance_uid_out for r in written])
    finally:
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for record, answer in zip(written, answers, strict=True):
        record.destination_status = sender.answer_text(answer)
        if not answer.stored:
            _quarantine(record, f"send: {answer.reason or answer.status}", answer.transient)
