"""The ledger folder: Parquet parts per partition, run.json, owner-only permissions.

Layout (``LEDGER`` defaults to ``<OUT>.ledger``)::

    LEDGER/run.json                 recipe, options, key fingerprint, counts, times
    LEDGER/key                      only when the run generated its key
    LEDGER/files/part-<n>.parquet   FILES_SCHEMA, one row per input of partition n
    LEDGER/uids/part-<n>.parquet    UIDS_SCHEMA, every original UID -> new UID seen in n

Each part carries its partition's content hash in the Parquet key-value metadata. The uids
part is written before the files part, both atomically (temp name + rename), so an existing
files part with the right hash *is* the proof that partition n finished: a resumed run skips
it and redoes the rest. The ledger links outputs to identities, so every file is 0o600 and
every folder 0o700.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from deid.pipeline.records import FILES_SCHEMA, STATUSES, UID_KINDS, UIDS_SCHEMA, FileRecord

HASH_KEY = b"deid.partition_hash"
RUN_JSON = "run.json"
#: The input roots and manifest the user named: kept apart from run.json, which is the part
#: of the ledger meant to be shown (recipe, counts, key fingerprint), since folder names in
#: exports often carry patient names.
INPUTS_JSON = "inputs.json"
TABLES = ("files", "uids")


def ensure_ledger(ledger: Path) -> None:
    """Create the ledger folders owner-only (and tighten them if they already exist)."""
    for folder in (ledger, *(ledger / t for t in TABLES)):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


def part_path(ledger: Path, table: str, index: int) -> Path:
    return ledger / table / f"part-{index:06d}.parquet"


def part_index(path: Path) -> int | None:
    stem = path.name.removesuffix(".parquet")
    if not stem.startswith("part-") or path.suffix != ".parquet":
        return None
    try:
        return int(stem[5:])
    except ValueError:
        return None


def iter_parts(ledger: Path, table: str) -> Iterator[Path]:
    folder = ledger / table
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if part_index(path) is not None:
            yield path


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """A private temp path beside ``path`` that replaces it on success, vanishes on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)  # mkstemp created it 0o600; pyarrow reopens it by name
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_table_atomic(table: pa.Table, path: Path, partition_hash: str) -> None:
    metadata = dict(table.schema.metadata or {})
    metadata[HASH_KEY] = partition_hash.encode()
    table = table.replace_schema_metadata(metadata)
    with _atomic_target(path) as tmp:
        pq.write_table(table, tmp)


def write_json_atomic(data: dict, path: Path) -> None:
    with _atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def part_hash(path: Path) -> str | None:
    """The partition hash stored in a part, or None if missing or unreadable (= redo)."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = metadata.get(HASH_KEY)
    return value.decode() if value else None


def partition_complete(ledger: Path, index: int, partition_hash: str) -> bool:
    return all(part_hash(part_path(ledger, t, index)) == partition_hash for t in ("uids", "files"))


def ledger_text(text: str) -> str:
    """``text`` as the ledger stores it: valid UTF-8, which Parquet strings must be.

    A file name that is not UTF-8 comes from ``os`` with its odd bytes as lone surrogates
    (``\\udcff``); written as is, it failed the whole partition's ledger write on every
    rerun, so one bad name stopped 500 files. Such characters are written as backslash
    escapes instead; every valid string is returned unchanged. Whoever looks a path up in
    the ledger (verify) converts it the same way.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def files_table(records: list[FileRecord]) -> pa.Table:
    rows = [
        {k: ledger_text(v) if isinstance(v, str) else v for k, v in r.row().items()}
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=FILES_SCHEMA)


def uids_table(records: list[FileRecord]) -> pa.Table:
    """One row per (original, new) UID; a UID met in several roles (a study UID is also
    referenced from other files) keeps its most specific kind (:data:`UID_KINDS` order)."""
    rank = {kind: i for i, kind in enumerate(UID_KINDS)}
    kinds: dict[tuple[str, str], str] = {}
    for record in records:
        for old, new, *kind in record.uid_pairs:
            found = kind[0] if kind else "other"
            known = kinds.get((old, new))
            if known is None or rank.get(found, 99) < rank.get(known, 99):
                kinds[(old, new)] = found
    pairs = sorted(kinds)
    return pa.table(
        {
            "uid_old": [p[0] for p in pairs],
            "uid_new": [p[1] for p in pairs],
            "kind": [kinds[p] for p in pairs],
        },
        schema=UIDS_SCHEMA,
    )


def write_partition(
    ledger: Path, index: int, partition_hash: str, records: list[FileRecord]
) -> None:
    """uids first, files last: the files part is the partition's commit marker."""
    write_table_atomic(uids_table(records), part_path(ledger, "uids", index), partition_hash)
    write_table_atomic(files_table(records), part_path(ledger, "files", index), partition_hash)


def remove_stale(ledger: Path, keep: int) -> int:
    """Delete parts of partitions ``>= keep`` (a smaller plan) and leftover temp files."""
    removed = 0
    for leftover in ledger.glob(".*.tmp"):  # run.json or key written by a killed run
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed += 1
    for table in TABLES:
        folder = ledger / table
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            index = part_index(path)
            stale_part = index is not None and index >= keep
            if stale_part or path.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed


@contextlib.contextmanager
def exclusive(ledger: Path) -> Iterator[None]:
    """Hold the ledger's lock for the whole run: two runs writing one ledger (and one output)
    at once would sweep each other's temp files and race on every part. The lock dies with
    the process, so a run killed with -9 never blocks the rerun."""
    import fcntl

    from deid.errors import UserError

    fd = os.open(ledger / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another deid run is using the ledger {ledger}") from None
        yield
    finally:
        os.close(fd)


# -- run.json --------------------------------------------------------------------------------
def read_run_json(ledger: Path) -> dict | None:
    path = ledger / RUN_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def write_run_json(ledger: Path, data: dict) -> None:
    write_json_atomic(data, ledger / RUN_JSON)


def write_inputs_json(ledger: Path, inputs: list[str], manifest: str | None) -> None:
    write_json_atomic({"inputs": inputs, "manifest": manifest}, ledger / INPUTS_JSON)


def read_inputs_json(ledger: Path) -> tuple[list[str], str | None]:
    """The run's input roots and manifest; ([], None) when the ledger has none recorded."""
    try:
        data = json.loads((ledger / INPUTS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], None
    return list(data.get("inputs") or []), data.get("manifest")


# -- summaries -------------------------------------------------------------------------------
@dataclass
class LedgerCounts:
    """Counts by status and quarantine reasons, summed part by part (bounded memory)."""

    files: int = 0
    status: Counter = field(default_factory=Counter)
    quarantine_reasons: Counter = field(default_factory=Counter)
    excluded_reasons: Counter = field(default_factory=Counter)
    parts: int = 0

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            **{s: self.status.get(s, 0) for s in STATUSES},
            "quarantine_reasons": dict(self.quarantine_reasons.most_common()),
            "excluded_reasons": dict(self.excluded_reasons.most_common()),
        }


def count_ledger(ledger: Path) -> LedgerCounts:
    counts = LedgerCounts()
    for path in iter_parts(ledger, "files"):
        table = pq.read_table(path, columns=["status", "reason"])
        counts.parts += 1
        counts.files += table.num_rows
        statuses = table.column("status").to_pylist()
        reasons = table.column("reason").to_pylist()
        counts.status.update(statuses)
        for status, reason in zip(statuses, reasons):
            if status == "quarantined":
                counts.quarantine_reasons[reason] += 1
            elif status == "excluded":
                counts.excluded_reasons[reason] += 1
    return counts
