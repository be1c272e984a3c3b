"""The client side of ``deid run``: plan, start or join a Dask cluster, submit, summarise.

The client holds the sorted path list and a few counters, nothing per file: partitions are
submitted a few at a time (bounded in-flight futures), each returns only counts, and the
records go from the workers straight into the ledger. The same plan on the same ledger
skips finished partitions, so the command is its own resume.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from deid import __version__
from deid.errors import KeyMissingError, UserError
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.inputs import collect_inputs
from deid.pipeline.keys import resolve_key
from deid.pipeline.partition import PROGRESS_TOPIC, RunSetup, run_partition
from deid.pipeline.plan import (
    DEFAULT_PARTITION_SIZE,
    partition_count,
    partition_hash,
    plan_partitions,
)
from deid.pipeline.progress import RunProgress
from deid.pipeline.summary import exit_code, format_summary

DEFAULT_FILE_TIMEOUT = 120.0


@dataclass
class RunOptions:
    recipe: str
    inputs: list[str]
    out: str
    ledger: str | None = None
    key_file: str | None = None
    workers: int | None = None
    scheduler: str | None = None
    manifest: str | None = None
    verify: bool = False
    partition_size: int = DEFAULT_PARTITION_SIZE
    dry_run: bool = False
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    progress: bool | None = None  # None: a bar when stderr is a terminal
    extra: dict = field(default_factory=dict)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


#: What a ledger folder may already hold: its own files (``key`` alone after a run that
#: stopped before its first partition) and their temp names.
LEDGER_ENTRIES = frozenset(
    {"run.json", "inputs.json", "files", "uids", "key", "lock", ledger_mod.DAMAGED}
)


def _is_ledger(folder: Path) -> bool:
    return (folder / "run.json").is_file() and (folder / "files").is_dir()


def _is_output_of_a_run(folder: Path) -> bool:
    """``folder`` has a default ledger beside it (``folder.ledger``) that names it."""
    run = ledger_mod.read_run_json(Path(f"{folder}.ledger")) or {}
    recorded = run.get("out")
    return bool(recorded) and os.path.realpath(recorded) == str(folder)


def _check_ledger_folder(ledger: Path) -> None:
    """An existing ``--ledger`` must be a deid ledger or empty: the run makes it owner-only
    and writes identities into it, which must never happen to someone's other folder."""
    if not ledger.is_dir():
        if ledger.exists():
            raise UserError(f"the ledger {ledger} exists and is not a folder")
        return
    foreign = sorted(
        entry.name
        for entry in ledger.iterdir()
        if entry.name not in LEDGER_ENTRIES and not entry.name.endswith(".tmp")
    )
    if foreign:
        raise UserError(
            f"the ledger folder {ledger} holds other files ({foreign[0]}, ...); "
            "give a new or empty --ledger"
        )


def check_locations(inputs: list[str], out: Path, ledger: Path) -> None:
    """Refuse layouts that would leak, loop or touch the input.

    The ledger links outputs to identities: never inside the output, and the output never
    inside a ledger (of this run or of another one, e.g. ``--out old.deid.ledger``).
    Neither may lie inside an input folder (inputs are never modified) nor hold an input.
    """
    real_out = Path(os.path.realpath(out))
    real_ledger = Path(os.path.realpath(ledger))
    if _inside(real_ledger, real_out):
        raise UserError(f"the ledger {ledger} must not be inside the output {out}")
    if _inside(real_out, real_ledger):
        raise UserError(f"the output {out} must not be inside the ledger {ledger}")
    for folder in (real_out, *real_out.parents):
        if _is_ledger(folder):
            where = "is" if folder == real_out else f"is inside {folder},"
            raise UserError(f"the output {out} {where} the ledger of another deid run")
    for folder in real_ledger.parents:
        if _is_output_of_a_run(folder):
            raise UserError(
                f"the ledger {ledger} must not be inside {folder}, the output of another "
                "deid run (outputs are shared; the ledger re-identifies them)"
            )
    if out.exists() and not out.is_dir():
        raise UserError(f"the output {out} exists and is not a folder")
    for item in inputs:
        real_in = Path(os.path.realpath(item))
        if real_in.is_dir() and _inside(real_out, real_in):
            raise UserError(f"the output {out} must not be inside the input {item}")
        if real_in.is_dir() and _inside(real_ledger, real_in):
            raise UserError(f"the ledger {ledger} must not be inside the input {item}")
        if _inside(real_in, real_out):
            raise UserError(f"the input {item} is inside the output {out}")
        if _inside(real_in, real_ledger):
            raise UserError(f"the input {item} is inside the ledger {ledger}")
    _check_ledger_folder(ledger)


def _load_recipe(path: str):
    from deid.recipe import load_recipe

    return load_recipe(path)


def _recipe_path(recipe, given: str) -> str:
    """The recipe file as the loader resolved it (a builtin name becomes its file)."""
    resolved = getattr(recipe, "path", "") or given
    return os.path.abspath(resolved) if os.path.exists(resolved) else given


def _salt(recipe, verify: bool) -> str:
    """What besides the paths decides a partition's outputs (the key is checked apart)."""
    return f"deid-partition/v1|{recipe.digest}|verify={int(verify)}"


def inputs_digest(paths: list[str]) -> str:
    """sha256 of the sorted input list: which batch a ledger belongs to."""
    return partition_hash(paths, "deid-inputs/v1")


def _check_ledger_identity(
    ledger: Path, recipe, fingerprint: str | None, digest: str | None = None
) -> None:
    """A ledger belongs to one batch: same recipe, key and inputs (any partitioning).

    Another input set would leave outputs of the first batch that the new ledger does not
    list, so it is refused rather than silently mixed.
    """
    previous = ledger_mod.read_run_json(ledger)
    if not previous:
        return
    if digest and previous.get("inputs_digest") not in (None, digest):
        raise UserError(
            f"the ledger {ledger} belongs to a run over other inputs; "
            "use a new --out/--ledger for a different batch"
        )
    if previous.get("recipe_digest") != recipe.digest:
        raise UserError(
            f"the ledger {ledger} belongs to a run with another recipe; "
            "use a new --out/--ledger for a different recipe"
        )
    if fingerprint and previous.get("key_fingerprint") not in (None, fingerprint):
        raise UserError(
            f"the ledger {ledger} belongs to a run with another key "
            f"(fingerprint {previous.get('key_fingerprint')}); use that key or a new ledger"
        )


def _resolve_run_key(ledger: Path, key_file: str | None, key_source: str):
    """The run's key. A ledger that already holds a run never gets a fresh key: the rerun
    would be refused for its other fingerprint anyway, and the stray key file would then
    be picked up silently by every later run that forgets the key again."""
    previous = ledger_mod.read_run_json(ledger)
    if previous is None:  # run.json lost: the parts still say which key wrote them
        fingerprint = next(
            (f for _, _, f in ledger_mod.recorded_binding(ledger) if f is not None), None
        )
        if fingerprint is not None:
            previous = {"key_fingerprint": fingerprint}
    try:
        return resolve_key(ledger, key_file, key_source, create=previous is None)
    except KeyMissingError:
        if previous is None:
            raise
        source = previous.get("key_source") or "an unknown source"
        raise UserError(
            f"the ledger {ledger} was written with the key from {source} (fingerprint "
            f"{previous.get('key_fingerprint')}); give that key again (--key-file or $DEID_KEY)"
        ) from None
    except OSError as error:
        raise UserError(f"cannot create the key in {ledger}: {error.strerror}") from None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunResult:
    exit_code: int
    files: int
    partitions: int
    seconds: float
    counts: dict
    ledger: str


def run(options: RunOptions, stream: TextIO | None = None) -> RunResult:
    stream = stream or sys.stderr
    if options.partition_size < 1:
        raise UserError("--partition-size must be at least 1")
    if options.workers is not None and options.workers < 1:
        raise UserError("--workers must be at least 1")
    if options.file_timeout <= 0:
        raise UserError("--file-timeout must be positive")
    if not options.inputs and not options.manifest:
        raise UserError("give at least one INPUT or --manifest")
    out = Path(os.path.abspath(options.out))
    ledger = Path(os.path.abspath(options.ledger or f"{out}.ledger"))
    check_locations(options.inputs, out, ledger)
    if options.scheduler:  # before the key or any folder is created
        from deid.pipeline.scheduler import check_scheduler

        check_scheduler(options.scheduler)
    paths = collect_inputs(options.inputs, options.manifest, prune=(out, ledger))
    early = None
    if not options.dry_run and not options.scheduler:
        from deid.pipeline.scheduler import EarlyCluster

        # Its workers come up while the recipe (and pydicom) load, not after.
        early = EarlyCluster(_local_workers(options, len(paths)))
    try:
        return _run_prepared(options, paths, out, ledger, early, stream)
    finally:
        if early is not None:
            early.discard()


def _local_workers(options: RunOptions, n_files: int) -> int:
    """More local workers than partitions would only cost start-up time."""
    n_parts = partition_count(n_files, options.partition_size)
    return max(1, min(options.workers or os.cpu_count() or 1, n_parts))


def _run_prepared(options, paths, out, ledger, early, stream) -> RunResult:
    """The run once its inputs are known (and its cluster, if local, is starting)."""
    recipe = _load_recipe(options.recipe)
    size = options.partition_size
    n_parts = partition_count(len(paths), size)
    salt = _salt(recipe, options.verify)
    digest = inputs_digest(paths)

    if options.dry_run:
        _check_ledger_identity(ledger, recipe, None, digest)
        ledger_mod.check_binding(ledger, str(out), None)
        done = 0
        if (ledger / "files").is_dir():
            done = sum(
                ledger_mod.partition_complete(ledger, p.index, p.content_hash)
                for p in plan_partitions(paths, size, salt)
            )
        print(
            f"deid: dry run: {len(paths)} input file(s) in {n_parts} partition(s) of up to "
            f"{size}; {done} partition(s) already done; output {out}; ledger {ledger}",
            file=stream,
        )
        return RunResult(0, len(paths), n_parts, 0.0, {"files": len(paths)}, str(ledger))

    from deid.rewrite.keys import KeyRing

    key = _resolve_run_key(ledger, options.key_file, getattr(recipe, "key_source", "ledger"))
    keys = KeyRing(key.secret)
    _check_ledger_identity(ledger, recipe, keys.fingerprint(), digest)
    ledger_mod.check_binding(ledger, str(out), keys.fingerprint())
    if key.created:
        print(
            f"deid: created a new key in {ledger / 'key'} "
            "(keep it: later runs need it to map the same UIDs and patients)",
            file=stream,
        )
    try:
        ledger_mod.ensure_ledger(ledger)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {error.filename}: {error.strerror}") from None
    started_at = _now()
    run_info = {
        "deid_version": __version__,
        "recipe_path": _recipe_path(recipe, options.recipe),
        "recipe_name": recipe.name,
        "recipe_digest": recipe.digest,
        "key_fingerprint": keys.fingerprint(),
        "key_source": key.source,
        "out": str(out),
        "ledger": str(ledger),
        "options": {
            "workers": options.workers,
            "scheduler": options.scheduler,
            "verify": options.verify,
            "partition_size": size,
            "file_timeout": options.file_timeout,
        },
        "files": len(paths),
        "inputs_digest": digest,
        "partitions": n_parts,
        "started": started_at,
        "state": "running",
    }
    with ledger_mod.exclusive(ledger):
        return _run_locked(options, paths, size, salt, recipe, keys, run_info, stream, early)


def _run_locked(
    options, paths, size, salt, recipe, keys, run_info, stream, early=None
) -> RunResult:
    """The run proper, while this process holds the ledger's lock."""
    ledger, out = Path(run_info["ledger"]), Path(run_info["out"])
    n_parts = run_info["partitions"]
    started = time.monotonic()
    ledger_mod.write_run_json(ledger, run_info)
    ledger_mod.write_inputs_json(
        ledger,
        [os.path.abspath(i) for i in options.inputs],
        options.manifest and os.path.abspath(options.manifest),
    )

    setup = RunSetup(
        recipe_pickle=pickle.dumps(recipe),
        recipe_digest=recipe.digest,
        keys=keys,
        out_dir=str(out),
        ledger_dir=str(ledger),
        verify=options.verify,
        file_timeout=options.file_timeout,
    )
    try:
        failures = _execute(options, paths, size, salt, setup, stream, early)
    except KeyboardInterrupt:
        # Finished partitions are in the ledger; say so where ``deid report`` looks.
        run_info.update(state="interrupted", finished=_now())
        ledger_mod.write_run_json(ledger, run_info)
        raise

    counts = ledger_mod.count_ledger(ledger)
    seconds = time.monotonic() - started
    run_info.update(
        state="complete" if not failures else "incomplete",
        finished=_now(),
        seconds=round(seconds, 3),
        counts=counts.as_dict(),
        failed_partitions=failures,
    )
    ledger_mod.write_run_json(ledger, run_info)
    print(format_summary(counts, ledger, seconds), file=stream)
    code = exit_code(counts)
    if failures:
        print(
            f"deid: {len(failures)} partition(s) failed (see above); rerun the same command",
            file=stream,
        )
        code = 1
    return RunResult(code, len(paths), n_parts, seconds, counts.as_dict(), str(ledger))


def _execute(
    options: RunOptions,
    paths: list[str],
    size: int,
    salt: str,
    setup: RunSetup,
    stream,
    early=None,
) -> list[int]:
    """Submit every partition (a bounded number at a time), then the finishing task."""
    from distributed import as_completed

    from deid.pipeline.duplicates import finish_run
    from deid.pipeline.scheduler import dask_client

    n_parts = partition_count(len(paths), size)
    n_local = _local_workers(options, len(paths))
    failures: list[int] = []
    with (
        dask_client(options.scheduler, n_local, prestart_children=True, early=early) as client,
        RunProgress(len(paths), stream, options.progress) as progress,
    ):
        client.subscribe_topic(
            PROGRESS_TOPIC,
            lambda event: progress.add(event[1]["files"], event[1]["quarantined"]),
        )
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        in_flight_limit = 2 * n_workers + 2
        shared = client.scatter(setup, broadcast=True)
        plan = plan_partitions(paths, size, salt)
        pending = as_completed()
        totals: Counter = Counter()
        run_token = uuid.uuid4().hex[:8]  # task keys unique per run on a shared scheduler

        def submit_next() -> bool:
            part = next(plan, None)
            if part is None:
                return False
            future = client.submit(
                run_partition,
                part.index,
                part.content_hash,
                paths[part.start : part.stop],
                shared,
                key=f"deid-partition-{part.index}-{run_token}",
                pure=False,
            )
            pending.add(future)
            return True

        for _ in range(in_flight_limit):
            if not submit_next():
                break
        for future in pending:
            try:
                result = future.result()
            except Exception as error:
                index = _index_of(future.key)
                failures.append(index)
                if len(failures) <= 3:  # one broken install fails them all: say it once
                    print(f"deid: partition {index} failed: {error}", file=stream)
            else:
                totals.update(result["status"])
                progress.set_done(sum(totals.values()), totals.get("quarantined", 0))
            future.release()
            submit_next()
        client.submit(finish_run, shared, n_parts, pure=False).result()
    return failures


def _index_of(key) -> int:
    try:
        return int(str(key).split("-")[2])
    except (IndexError, ValueError):
        return -1
