"""The ledger folder: Parquet parts per partition, run.json, owner-only permissions.

Layout (``LEDGER`` defaults to ``<OUT>.ledger``)::

    LEDGER/run.json                 recipe, options, key fingerprint, counts, times
    LEDGER/key                      only when the run generated its key
    LEDGER/files/part-<n>.parquet   FILES_SCHEMA, one row per input of partition n
    LEDGER/uids/part-<n>.parquet    UIDS_SCHEMA, every original UID -> new UID seen in n

Each part carries its partition's content hash in the Parquet key-value metadata, and the
run it belongs to: the real path of the output it describes and the key's fingerprint
(:data:`BINDING_KEYS`), so a ledger reused with another ``--out`` or another key is refused
even when run.json is gone (:func:`check_binding`). The uids
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

from deid.atomic import atomic_path
from deid.pipeline.records import FILES_SCHEMA, STATUSES, UID_KINDS, UIDS_SCHEMA, FileRecord
from deid.storage.parquet import read_schema as _read_schema
from deid.storage.parquet import read_table as _read_table
from deid.storage.remote import RemotePath, Where

HASH_KEY = b"deid.partition_hash"
OUT_KEY = b"deid.out"
FINGERPRINT_KEY = b"deid.key_fingerprint"
BINDING_KEYS = (OUT_KEY, FINGERPRINT_KEY)
#: b"1" when every output of the part was re-scanned as it was written (``--verify``).
VERIFIED_KEY = b"deid.verified"
#: The per-file limits the part was written under: b"<pixel>,<value>,<memory>" bytes.
LIMITS_KEY = b"deid.limits"
#: Set on a files part that holds instances quarantined for a transient PACS cause
#: (deid.pipeline.pacs_partition): the rerun redoes the partition, only those instances.
RETRY_KEY = b"deid.retry"
#: How a reason starts when a limit, not the file, decided (see deid.pipeline.limits).
LIMIT_REASONS = ("pixel data too large", "element value too long", "MemoryError")
#: Where ``deid ledger check --quarantine`` moves damaged parts (kept, never deleted).
DAMAGED = "damaged"
RUN_JSON = "run.json"
#: The input roots and manifest the user named: kept apart from run.json, which is the part
#: of the ledger meant to be shown (recipe, counts, key fingerprint), since folder names in
#: exports often carry patient names.
INPUTS_JSON = "inputs.json"
TABLES = ("files", "uids")


def ensure_ledger(ledger: Where) -> None:
    """Create the ledger folders owner-only (and tighten them if they already exist).

    A ledger on object storage has no folders and no modes: the bucket's policy is what
    keeps it private (see the README)."""
    if isinstance(ledger, RemotePath):
        return
    for folder in (ledger, *(ledger / t for t in TABLES)):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


def part_path(ledger: Where, table: str, index: int) -> Where:
    return ledger / table / f"part-{index:06d}.parquet"


def part_index(path: Path) -> int | None:
    stem = path.name.removesuffix(".parquet")
    if not stem.startswith("part-") or path.suffix != ".parquet":
        return None
    try:
        return int(stem[5:])
    except ValueError:
        return None


def iter_parts(ledger: Where, table: str) -> Iterator[Path]:
    folder = ledger / table
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if part_index(path) is not None:
            yield path


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """A private temp path beside ``path`` that replaces it on success, vanishes on failure.

    On object storage the temp file is local and is put as one object (one PUT): the part
    appears whole or not at all."""
    if isinstance(path, RemotePath):
        with _remote_target(path) as local:
            yield local
        return
    with atomic_path(path, 0o600, suffix=".tmp") as temp:  # pyarrow writes it by name
        yield temp


@contextlib.contextmanager
def _remote_target(path: RemotePath) -> Iterator[Path]:
    from deid.storage.remote import write_atomic

    fd, tmp = tempfile.mkstemp(prefix=".deid-ledger.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        write_atomic(path, Path(tmp).read_bytes())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def real_location(location: str | Path | RemotePath) -> str:
    """What a part records as its output: the real path, or the URL as given (object
    storage, or a PACS ``--out``)."""
    text = str(location)
    return text.rstrip("/") if "://" in text else os.path.realpath(text)


def binding(
    out_dir: str, key_fingerprint: str, verified: bool = False, limits=None
) -> dict[bytes, bytes]:
    """The metadata that ties a part to its run's output location and key (and says whether
    its outputs were verified as they were written, and under which per-file limits)."""
    bound = {
        OUT_KEY: real_location(out_dir).encode("utf-8", "surrogateescape"),
        FINGERPRINT_KEY: key_fingerprint.encode(),
        VERIFIED_KEY: b"1" if verified else b"0",
    }
    if limits is not None:
        bound[LIMITS_KEY] = limits_text(limits)
    return bound


def write_table_atomic(
    table: pa.Table, path: Path, partition_hash: str, bound: dict[bytes, bytes] | None = None
) -> None:
    metadata = dict(table.schema.metadata or {})
    metadata[HASH_KEY] = partition_hash.encode()
    metadata.update(bound or {})
    table = table.replace_schema_metadata(metadata)
    with _atomic_target(path) as tmp:
        pq.write_table(table, tmp)


def write_json_atomic(data: dict, path: Path) -> None:
    with _atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def part_hash(path: Path) -> str | None:
    """The partition hash stored in a part, or None if missing or unreadable (= redo)."""
    try:
        metadata = _read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = metadata.get(HASH_KEY)
    return value.decode() if value else None


#: Why a planned partition is not done yet (see :func:`partition_state`).
DONE = "done"
NOT_STARTED = "not started"
UNVERIFIED = "done without --verify"
REPLANNED = "other inputs or partitioning"
LIMITS_RAISED = "quarantined files under lower limits"
DAMAGED_PART = "damaged part"
TRANSIENT = "transient PACS failures to retry"


def limits_text(limits) -> bytes:
    return f"{limits.max_pixel_bytes},{limits.max_value_bytes},{limits.child_memory_bytes}".encode()


def _raised(recorded: bytes | None, limits) -> bool:
    """Any limit higher now than when the part was written (0 memory: no limit at all)."""
    if recorded is None or limits is None:
        return False
    try:
        pixel, value, memory = (int(v) for v in recorded.decode().split(","))
    except ValueError:
        return False
    now_memory = limits.child_memory_bytes or float("inf")
    return (
        limits.max_pixel_bytes > pixel
        or limits.max_value_bytes > value
        or now_memory > (memory or float("inf"))
    )


def _has_limit_quarantines(path: Path) -> bool:
    try:
        reasons = _read_table(path, columns=["reason"]).column("reason").to_pylist()
    except (OSError, pa.ArrowException, ValueError):
        return True
    return any(r and r.startswith(LIMIT_REASONS) for r in reasons)


def partition_state(
    ledger: Where,
    index: int,
    partition_hash: str,
    need_verify: bool = False,
    limits=None,
) -> str:
    """:data:`DONE` when both parts of partition ``index`` hold ``partition_hash`` (and, when
    ``need_verify``, were written with ``--verify``), else why not. A part written with
    ``--verify`` also counts for a run without it: its outputs were checked more, not less.
    A part that quarantined files for a limit that ``limits`` now raises is redone, so that
    raising ``--max-pixel-mb`` and rerunning retries exactly those files' partitions.
    """
    states = []
    for table in ("uids", "files"):
        path = part_path(ledger, table, index)
        if not path.exists():
            states.append(NOT_STARTED)
            continue
        try:
            metadata = _read_schema(path).metadata or {}
        except (OSError, pa.ArrowException, ValueError):
            states.append(DAMAGED_PART)
            continue
        recorded = metadata.get(HASH_KEY)
        if recorded is None or recorded.decode() != partition_hash:
            states.append(REPLANNED)
        elif need_verify and metadata.get(VERIFIED_KEY) != b"1":
            states.append(UNVERIFIED)
        elif (
            table == "files"
            and _raised(metadata.get(LIMITS_KEY), limits)
            and _has_limit_quarantines(path)
        ):
            states.append(LIMITS_RAISED)
        elif table == "files" and metadata.get(RETRY_KEY) == b"1":
            states.append(TRANSIENT)
        else:
            states.append(DONE)
    if states[1] != DONE:  # the files part commits the partition: its state says why
        return states[1]
    return states[0] if states[0] != NOT_STARTED else REPLANNED


def partition_complete(
    ledger: Where, index: int, partition_hash: str, need_verify: bool = False, limits=None
) -> bool:
    return partition_state(ledger, index, partition_hash, need_verify, limits) == DONE


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
    ledger: Where,
    index: int,
    partition_hash: str,
    records: list[FileRecord],
    bound: dict[bytes, bytes] | None = None,
) -> None:
    """uids first, files last: the files part is the partition's commit marker; both carry
    the run's :func:`binding`."""
    uids, files = part_path(ledger, "uids", index), part_path(ledger, "files", index)
    write_table_atomic(uids_table(records), uids, partition_hash, bound)
    write_table_atomic(files_table(records), files, partition_hash, bound)


def remove_stale(ledger: Where, keep: int) -> int:
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
def exclusive(ledger: Where) -> Iterator[None]:
    """Hold the ledger's lock for the whole run: two runs writing one ledger (and one output)
    at once would sweep each other's temp files and race on every part. The lock dies with
    the process, so a run killed with -9 never blocks the rerun."""
    import fcntl

    from deid.errors import UserError

    lock = ledger / "lock"
    if isinstance(ledger, RemotePath):
        # Object storage has no lock that dies with its holder: the lock is this machine's
        # (two runs started from one client are refused; see the README for clusters).
        import hashlib

        name = hashlib.sha256(str(ledger).encode()).hexdigest()[:16]
        lock = Path(tempfile.gettempdir()) / f"deid-ledger-{name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another deid run is using the ledger {ledger}") from None
        yield
    finally:
        os.close(fd)


# -- binding and damage ---------------------------------------------------------------------
@dataclass(frozen=True)
class PartProblem:
    """A file in ``files/`` or ``uids/`` that readers cannot use, and why (one line)."""

    path: Path
    problem: str

    def line(self, ledger: Where) -> str:
        return f"{self.path.relative_to(ledger)}: {self.problem}"


#: Columns every part deid ever wrote has (readers select them by name); columns added
#: later are not required, so older ledgers stay readable.
CORE_COLUMNS = {
    "files": frozenset({"input_path", "status", "reason", "output_path"}),
    "uids": frozenset({"uid_old", "uid_new"}),
}


def _part_problem(path: Path, table: str, full: bool) -> str | None:
    try:
        schema = _read_schema(path)
        if full:
            _read_table(path)
    except (OSError, pa.ArrowException, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"not a readable Parquet file ({first[:120]})"
    missing = CORE_COLUMNS[table] - set(schema.names)
    if missing:
        return f"not a deid {table} part (no column {sorted(missing)[0]})"
    if HASH_KEY not in (schema.metadata or {}):
        return "not a deid part (no partition hash)"
    return None


def damaged_parts(ledger: Where, full: bool = False) -> list[PartProblem]:
    """Every damaged part (truncated, foreign, not Parquet) and every foreign file in the
    ledger's tables; ``full`` reads each part whole, else only its footer and schema."""
    problems: list[PartProblem] = []
    for table in TABLES:
        folder = ledger / table
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.endswith(".tmp"):
                continue  # a write in progress or a killed one's leftover (swept by runs)
            if part_index(path) is None:
                problems.append(PartProblem(path, "foreign file (not a ledger part)"))
                continue
            problem = _part_problem(path, table, full)
            if problem:
                problems.append(PartProblem(path, problem))
    return problems


@contextlib.contextmanager
def reading(ledger: Where) -> Iterator[None]:
    """Around a reader of the whole ledger: a part whose footer is sound but whose pages are
    not fails only when it is read; then every part is read whole, and the first damaged
    one becomes the same one line as :func:`require_intact` gives (anything else is raised
    as it was)."""
    try:
        yield
    except (OSError, pa.ArrowException) as error:
        if not damaged_parts(ledger, full=True):
            raise
        require_intact(ledger, full=True)
        raise error  # pragma: no cover - require_intact raised


def require_intact(ledger: Where, full: bool = False) -> None:
    """One :class:`UserError` line naming the first damaged part, before any reader meets
    it with a traceback; foreign files with other names are ignored by readers, so only
    ``deid ledger check`` lists them."""
    from deid.errors import UserError

    parts = [p for p in damaged_parts(ledger, full) if part_index(p.path) is not None]
    if parts:
        more = f" (and {len(parts) - 1} more)" if len(parts) > 1 else ""
        raise UserError(
            f"damaged ledger part {parts[0].line(ledger)}{more}; "
            f"'deid ledger check {ledger} --quarantine' moves damaged parts aside, then "
            "rerun the same deid run command to redo their partitions"
        )


def quarantine_parts(ledger: Where, problems: list[PartProblem]) -> list[Path]:
    """Move damaged parts to ``LEDGER/damaged/<table>/`` (owner-only); their partitions are
    then incomplete, so the next run redoes them."""
    moved: list[Path] = []
    for problem in problems:
        target = ledger / DAMAGED / problem.path.parent.name / problem.path.name
        if isinstance(target, RemotePath):
            _move_object(problem.path, target)
            moved.append(target)
            continue
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(ledger / DAMAGED, 0o700)
        os.replace(problem.path, target)
        moved.append(target)
    return moved


def _move_object(source: Where, target: RemotePath) -> None:
    from deid.storage.retry import retrying

    assert isinstance(source, RemotePath)  # a part of a ledger on a bucket
    retrying(lambda: source.fs.mv(source.fs_path, target.fs_path))


def recorded_binding(ledger: Where) -> Iterator[tuple[Path, str | None, str | None]]:
    """(part, output path, key fingerprint) as each readable part records them."""
    for table in TABLES:
        for path in iter_parts(ledger, table):
            try:
                metadata = _read_schema(path).metadata or {}
            except (OSError, pa.ArrowException, ValueError):
                continue  # damaged: the run redoes it, check/report name it
            out = metadata.get(OUT_KEY)
            fingerprint = metadata.get(FINGERPRINT_KEY)
            yield (
                path,
                out.decode("utf-8", "surrogateescape") if out is not None else None,
                fingerprint.decode() if fingerprint is not None else None,
            )


def check_binding(ledger: Where, out_dir: str, key_fingerprint: str | None) -> None:
    """Refuse (exit 2) a run whose output or key differs from what any part records.

    run.json can be deleted or edited; the parts are what later readers trust, so each one
    is asked. Parts written before parts were bound carry nothing and are not judged.
    """
    from deid.errors import UserError

    real_out = real_location(out_dir)
    for path, out, fingerprint in recorded_binding(ledger):
        where = path.relative_to(ledger)
        if out is not None and out != real_out:
            raise UserError(
                f"the ledger {ledger} describes the output {out} ({where}), not {out_dir}; "
                "give that --out, or a new --ledger for a new output"
            )
        if key_fingerprint and fingerprint is not None and fingerprint != key_fingerprint:
            raise UserError(
                f"the ledger {ledger} was written with another key (fingerprint "
                f"{fingerprint}, {where}); use that key or a new ledger"
            )


# -- run.json --------------------------------------------------------------------------------
def read_run_json(ledger: Where) -> dict | None:
    path = ledger / RUN_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def write_run_json(ledger: Where, data: dict) -> None:
    write_json_atomic(data, ledger / RUN_JSON)


def write_inputs_json(ledger: Where, inputs: list[str], manifest: str | None) -> None:
    write_json_atomic({"inputs": inputs, "manifest": manifest}, ledger / INPUTS_JSON)


def read_inputs_json(ledger: Where) -> tuple[list[str], str | None]:
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


def count_ledger(ledger: Where) -> LedgerCounts:
    counts = LedgerCounts()
    for path in iter_parts(ledger, "files"):
        table = _read_table(path, columns=["status", "reason"])
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
