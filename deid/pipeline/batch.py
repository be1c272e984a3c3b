"""The client side of ``deid run``: plan, start or join a Dask cluster, submit, summarise.

The client holds the sorted path list and a few counters, nothing per file: partitions are
submitted a few at a time (bounded in-flight futures), each returns only counts, and the
records go from the workers straight into the ledger. The same plan on the same ledger
skips finished partitions, so the command is its own resume.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from deid import __version__
from deid.errors import KeyMissingError, UserError
from deid.pipeline import ledger as ledger_mod
from deid.pipeline.destination import EXIT_DESTINATION, is_destination_error
from deid.pipeline.inputs import collect_inputs
from deid.pipeline.keys import resolve_key
from deid.pipeline.limits import Limits
from deid.pipeline.plan import (
    default_partition_size,
    partition_count,
    partition_hash,
    plan_partitions,
)
from deid.storage.remote import RemotePath

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
    #: None: the size the ledger's earlier runs used, else plan.default_partition_size.
    partition_size: int | None = None
    dry_run: bool = False
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    progress: bool | None = None  # None: a bar when stderr is a terminal
    extra: dict = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    #: QIDO-RS matching keys for a PACS INPUT (deid.pacs.query).
    query: str | None = None
    #: ``AET:PORT`` of deid's own Storage SCP: fetch with C-MOVE (deid.pacs.move).
    move_to: str | None = None
    #: time.monotonic() when the command started (the printed duration includes start-up);
    #: None: when :func:`run` is called.
    started: float | None = None
    #: A Dask scheduler file (dask-jobqueue, dask-mpi): its address is the scheduler.
    scheduler_file: str | None = None
    #: ``--storage-options`` for object storage; may hold secrets, so it is never written to
    #: run.json or printed (see :mod:`deid.storage.filesystems`).
    storage_options: dict | None = field(default=None, repr=False)


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
    return bool(recorded) and os.path.realpath(str(recorded)) == str(folder)


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


def _open_locations(options: RunOptions, pacs=None):
    """``--out`` and ``--ledger`` as locations, checked (layout, buckets reachable) before
    anything is written. The one place a run opens them. A PACS (``pacs``, already probed by
    :func:`deid.pipeline.pacs_plan.plan_pacs`) is no folder: its INPUT is not checked against the
    output, and a PACS ``--out`` is a name only (the ledger is then given with --ledger)."""
    from deid.storage.filesystems import announce, configure
    from deid.storage.locations import is_url, parse_location
    from deid.storage.remote import location

    configure(options.storage_options)
    if pacs is not None and pacs.out_name:
        out: Path | RemotePath = Path(os.path.abspath(options.out))  # never created
    else:
        out = location(options.out, "--out")
    ledger = location(options.ledger or f"{out}.ledger", "--ledger")
    inputs = [] if pacs is not None and pacs.units is not None else options.inputs
    named = [*inputs, options.out, str(ledger), options.key_file or ""]
    announce({parse_location(n).protocol for n in named if is_url(n)})
    if isinstance(out, RemotePath) or isinstance(ledger, RemotePath):
        check_remote_locations(inputs, out, ledger)
    else:  # an object input can never lie inside a local folder, nor hold one
        check_locations([i for i in inputs if not is_url(i)], out, ledger)
    return out, ledger


def _credential_env() -> dict:
    from deid.storage.filesystems import credential_env

    return credential_env()


def _as_recorded(item: str) -> str:
    """An INPUT or manifest as inputs.json records it: a URL as given, a path absolute."""
    from deid.storage.locations import is_url

    return item if is_url(item) else os.path.abspath(item)


def check_remote_locations(inputs: list[str], out, ledger) -> None:
    """:func:`check_locations` when the output, the ledger or an input is on object
    storage: the same refusals, comparing URLs by prefix (a bucket has no symlinks), and
    each bucket asked once whether it exists and these credentials may use it."""
    from deid.storage.checks import check_reachable
    from deid.storage.locations import inside, is_url, parse_location

    real_out, real_ledger = ledger_mod.real_location(out), ledger_mod.real_location(ledger)
    if inside(real_ledger, real_out):
        raise UserError(f"the ledger {ledger} must not be inside the output {out}")
    if inside(real_out, real_ledger):
        raise UserError(f"the output {out} must not be inside the ledger {ledger}")
    for item in inputs:
        real_in = ledger_mod.real_location(parse_location(item, "INPUT").url)
        if is_url(item) or os.path.isdir(real_in):
            if inside(real_out, real_in):
                raise UserError(f"the output {out} must not be inside the input {item}")
            if inside(real_ledger, real_in):
                raise UserError(f"the ledger {ledger} must not be inside the input {item}")
        if inside(real_in, real_out):
            raise UserError(f"the input {item} is inside the output {out}")
        if inside(real_in, real_ledger):
            raise UserError(f"the input {item} is inside the ledger {ledger}")
    checked = set()
    for where, what in ((out, "output"), (ledger, "ledger")):
        if isinstance(where, RemotePath) and where.bucket not in checked:
            check_reachable(where, what)
            checked.add(where.bucket)
    for folder in (out, *out.parents):
        if _is_ledger(folder):
            where = "is" if folder == out else f"is inside {folder},"
            raise UserError(f"the output {out} {where} the ledger of another deid run")
    if not isinstance(out, RemotePath) or not isinstance(ledger, RemotePath):
        local = out if not isinstance(out, RemotePath) else ledger
        if local.exists() and not local.is_dir():
            kind = "output" if local is out else "ledger"
            raise UserError(f"the {kind} {local} exists and is not a folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"the output {out} exists and is not a folder")
    _check_ledger_folder(ledger)


def _load_recipe(path: str):
    from deid.recipe import load_recipe

    return load_recipe(path)


def _recipe_path(recipe, given: str) -> str:
    """The recipe file as the loader resolved it (a builtin name becomes its file)."""
    resolved = getattr(recipe, "path", "") or given
    return os.path.abspath(resolved) if os.path.exists(resolved) else given


def _salt(recipe) -> str:
    """What besides the paths decides a partition's outputs (the key is checked apart).

    ``--verify`` is not part of it (a verified part says so in its metadata, see
    :func:`deid.pipeline.ledger.partition_state`); the text keeps ``verify=0`` so ledgers
    written before stay valid.
    """
    return f"deid-partition/v1|{recipe.digest}|verify=0"


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
    """Check everything a user can get wrong first (options, locations, inputs, recipe,
    key, ledger identity): each is one line, exit 2, in well under a second, because no Dask
    process has started yet. Only then the cluster starts and the batch runs."""
    started = options.started if options.started is not None else time.monotonic()
    stream = stream or sys.stderr
    if options.partition_size is not None and options.partition_size < 1:
        raise UserError("--partition-size must be at least 1")
    if options.workers is not None and options.workers < 1:
        raise UserError("--workers must be at least 1")
    if options.file_timeout <= 0:
        raise UserError("--file-timeout must be positive")
    if not options.inputs and not options.manifest:
        raise UserError("give at least one INPUT or --manifest")
    pacs = None
    if _names_a_pacs(options):  # checked, probed and listed before anything is fetched
        from deid.pipeline.pacs_plan import plan_pacs

        pacs = plan_pacs(
            options.inputs,
            options.out,
            options.query,
            options.manifest,
            options.ledger,
            options.move_to,
            options.scheduler,
        )
    out, ledger = _open_locations(options, pacs)
    out_name = (pacs and pacs.out_name) or str(out)
    if options.scheduler_file:
        from deid.pipeline.schedulerfile import address_from_file

        if options.scheduler:
            raise UserError("give --scheduler or --scheduler-file, not both")
        options.scheduler = address_from_file(options.scheduler_file)
    if options.scheduler:  # before the key or any folder is created
        from deid.pipeline.scheduler import check_scheduler

        check_scheduler(options.scheduler)
    weights = None  # instances per plan entry when an entry is not one file
    if pacs and pacs.units is not None:
        paths = pacs.units  # one entry per series (deid.pacs.source)
        weights = _series_weights(pacs.unit_instances)
    else:
        paths = collect_inputs(options.inputs, options.manifest, prune=(out, ledger))
    default_size = default_partition_size(len(paths), _planned_workers(options))
    size, size_note = _partition_size(_given_size(options, pacs), ledger, default_size)
    recipe = _load_recipe(options.recipe)
    digest = inputs_digest(paths)
    if options.dry_run:
        _check_ledger_identity(ledger, recipe, None, digest)
        ledger_mod.check_binding(ledger, out_name, None)
        return _dry_run(options, paths, size, recipe, out, ledger, stream, weights)

    from deid.rewrite.keyring import KeyRing

    key = _resolve_run_key(ledger, options.key_file, getattr(recipe, "key_source", "ledger"))
    keys = KeyRing(key.secret)
    _check_ledger_identity(ledger, recipe, keys.fingerprint(), digest)
    ledger_mod.check_binding(ledger, out_name, keys.fingerprint())
    plan = list(plan_partitions(paths, size, _salt(recipe)))
    nothing_to_do = _nothing_to_do(ledger, plan, options.verify, options.limits)
    if not options.scheduler and not nothing_to_do:
        from deid.pipeline.scheduler import check_interpreter_runnable

        check_interpreter_runnable()  # before anything is written
    try:
        ledger_mod.ensure_ledger(ledger)
        if not (pacs and pacs.out_name):
            out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        code = EXIT_DESTINATION if is_destination_error(error) else None
        raise UserError(
            f"cannot create {error.filename}: {error.strerror}", exit_code=code
        ) from None
    # The lock before any Dask process: "another run is using the ledger" is a usage error.
    receiving = pacs.receiving() if pacs is not None else contextlib.nullcontext()
    with ledger_mod.exclusive(ledger), receiving:
        early = None
        if not options.scheduler and not nothing_to_do:
            from deid.pipeline.scheduler import EarlyCluster, warm_forkserver

            warm_forkserver()
            # Its workers come up while the ledger header is written and the plan checked.
            early = EarlyCluster(_local_workers(options, len(paths), size))
        try:
            prepared = _Prepared(paths, size, size_note, recipe, digest, key, keys, out, ledger)
            prepared.weights = weights
            if pacs is not None:
                prepared.out_name, prepared.pacs = out_name, pacs.setup
            return _run_prepared(options, prepared, early, stream, started)
        finally:
            if early is not None:
                early.discard()


def _names_a_pacs(options: RunOptions) -> bool:
    from deid.pacs.urls import looks_like_endpoint

    return bool(options.query) or any(
        looks_like_endpoint(i) for i in [options.out, *options.inputs]
    )


def _given_size(options: RunOptions, pacs) -> int | None:
    """A PACS INPUT's partitions count series, so its default is smaller."""
    if options.partition_size is None and pacs is not None and pacs.units is not None:
        from deid.pipeline.pacs_plan import PACS_PARTITION_SIZE

        return PACS_PARTITION_SIZE
    return options.partition_size


def _nothing_to_do(ledger: Path, plan: list, verify: bool, limits) -> bool:
    """Every partition done and the last run finished its closing pass: a rerun then needs
    no cluster at all (checked again under the ledger's lock)."""
    previous = ledger_mod.read_run_json(ledger) or {}
    if previous.get("state") != "complete":
        return False
    return all(s == ledger_mod.DONE for s in _plan_states(ledger, plan, verify, limits))


def _planned_workers(options: RunOptions) -> int:
    """The workers the default partition size balances for: as many as asked, else one per
    core (a named cluster's size is not known yet; the ledger keeps the size either way)."""
    return options.workers or os.cpu_count() or 1


def _partition_size(given: int | None, ledger: Path, default: int) -> tuple[int, str | None]:
    """The partition size, and a note when it is not what the user typed (or differs from
    what the ledger's partitions were cut with). Without ``--partition-size``, a rerun keeps
    the ledger's size: dropping the option used to redo every partition without a word, and
    a default that follows the file and worker counts must not either."""
    previous = ledger_mod.read_run_json(ledger) or {}
    recorded = (previous.get("options") or {}).get("partition_size")
    if given is None:
        if recorded and recorded != default:
            return int(recorded), f"--partition-size {recorded} as the ledger's earlier runs"
        return default, None
    if recorded and recorded != given:
        return given, (
            f"--partition-size {given} differs from the {recorded} the ledger's partitions "
            "were cut with: those are redone (outputs already written are kept as they are)"
        )
    return given, None


@dataclass
class _Prepared:
    """What the checks established, handed to the run proper."""

    paths: list[str]
    size: int
    size_note: str | None
    recipe: Any
    digest: str
    key: Any
    keys: Any
    out: Path
    ledger: Path
    out_name: str = ""  # the output as the ledger names it, when not the folder ``out``
    pacs: Any = None  # deid.pipeline.pacs_partition.PacsSetup when an end is a PACS
    #: Files per plan entry when an entry is not one file (a PACS series); None: one each.
    weights: list[int] | None = None


def _series_weights(counts: list[int | None] | None) -> list[int] | None:
    """Instances per series as the source said; a series it said nothing of counts as 1
    (progress then learns the truth from the partitions' records)."""
    if counts is None:
        return None
    return [c if c and c > 0 else 1 for c in counts]


def _units_text(paths: list[str], weights: list[int] | None) -> str:
    if weights is None:
        return f"{len(paths)} input file(s)"
    return f"{len(paths)} series ({sum(weights)} instance(s) as the source counts them)"


def _dry_run(options, paths, size, recipe, out, ledger, stream, weights=None) -> RunResult:
    n_parts = partition_count(len(paths), size)
    plan = list(plan_partitions(paths, size, _salt(recipe)))
    states = _plan_states(ledger, plan, options.verify, options.limits)
    done = states.count(ledger_mod.DONE)
    todo = Counter(s for s in states if s != ledger_mod.DONE)
    why = ", ".join(f"{n} {state}" for state, n in todo.most_common())
    print(
        f"deid: dry run: {_units_text(paths, weights)} in {n_parts} partition(s) of up to "
        f"{size}; {done} partition(s) already done; {sum(todo.values())} to do"
        f"{f' ({why})' if why else ''}; output {out}; ledger {ledger}",
        file=stream,
    )
    return RunResult(0, len(paths), n_parts, 0.0, {"files": len(paths)}, str(ledger))


def _local_workers(options: RunOptions, n_files: int, size: int) -> int:
    """More local workers than partitions would only cost start-up time."""
    n_parts = partition_count(n_files, size)
    return max(1, min(options.workers or os.cpu_count() or 1, n_parts))


def _run_prepared(options, prep: _Prepared, early, stream, started: float) -> RunResult:
    """The run once every check passed, under the ledger's lock (and its cluster, if local,
    is starting)."""
    ledger, out, recipe, keys = prep.ledger, prep.out, prep.recipe, prep.keys
    if prep.key.created:
        print(
            f"deid: created a new key in {ledger / 'key'} "
            "(keep it: later runs need it to map the same UIDs and patients)",
            file=stream,
        )
    n_parts = partition_count(len(prep.paths), prep.size)
    options_info = {
        "workers": options.workers,
        "scheduler": options.scheduler,
        "verify": options.verify,
        "partition_size": prep.size,
        "file_timeout": options.file_timeout,
        "max_pixel_bytes": options.limits.max_pixel_bytes,
        "max_value_bytes": options.limits.max_value_bytes,
        "child_memory_bytes": options.limits.child_memory_bytes,
    }
    previous = ledger_mod.read_run_json(ledger) or {}
    this_run = {"started": _now(), "state": "running", "options": options_info}
    run_info = {
        "deid_version": __version__,
        "recipe_path": _recipe_path(recipe, options.recipe),
        "recipe_name": recipe.name,
        "recipe_digest": recipe.digest,
        "key_fingerprint": keys.fingerprint(),
        "key_source": prep.key.source,
        "out": prep.out_name or str(out),
        "ledger": str(ledger),
        "options": options_info,
        "files": _planned_files(prep),
        "inputs_digest": prep.digest,
        "partitions": n_parts,
        # The first run's start: a rerun adds to the history, never rewrites it.
        "started": previous.get("started") or this_run["started"],
        "state": "running",
        "history": [*_history(previous), this_run],
    }
    return _run_locked(options, prep, run_info, stream, early, started)


def _planned_files(prep: _Prepared) -> int | None:
    """The files the plan holds; None for a PACS INPUT, whose plan entries are series (the
    workers list their instances): the run's end records how many the ledger then holds."""
    source = getattr(prep.pacs, "source", None)
    return None if source is not None else len(prep.paths)


def _history(previous: dict) -> list[dict]:
    """The runs a ledger records; a run.json from before histories becomes its one entry."""
    if not previous:
        return []
    if isinstance(previous.get("history"), list):
        return list(previous["history"])
    keys = ("started", "finished", "seconds", "state", "options", "counts")
    return [{k: previous[k] for k in keys if k in previous}]


def _plan_states(ledger: Path, plan: list, verify: bool, limits=None) -> list[str]:
    if not any(ledger_mod.iter_parts(ledger, "files")):
        return [ledger_mod.NOT_STARTED] * len(plan)
    return [
        ledger_mod.partition_state(ledger, p.index, p.content_hash, verify, limits) for p in plan
    ]


def _resume_line(states: list[str], size_note: str | None) -> str | None:
    """ "N partition(s) already done, skipped; M to do (why)", for a rerun; None for a
    first run (nothing done, nothing to explain)."""
    done = states.count(ledger_mod.DONE)
    todo = Counter(s for s in states if s != ledger_mod.DONE)
    if not done and set(todo) <= {ledger_mod.NOT_STARTED} and not size_note:
        return None
    if not todo:
        line = f"deid: all {done} partition(s) already done, skipped; nothing to do"
        return line + (f"; {size_note}" if size_note else "")
    why = ", ".join(f"{n} {state}" for state, n in todo.most_common())
    line = f"deid: {done} partition(s) already done, skipped; {sum(todo.values())} to do"
    line += f" ({why})" if why else ""
    return line + (f"; {size_note}" if size_note else "")


def _run_locked(options, prep: _Prepared, run_info, stream, early, started) -> RunResult:
    """The run proper, while this process holds the ledger's lock."""
    from deid.pipeline.partition import RunSetup
    from deid.pipeline.summary import exit_code, format_summary, print_out

    ledger, out = prep.ledger, prep.out
    n_parts = run_info["partitions"]
    this_run = run_info["history"][-1]
    plan = list(plan_partitions(prep.paths, prep.size, _salt(prep.recipe)))
    states = _plan_states(ledger, plan, options.verify, options.limits)
    this_run.update(
        partitions_skipped=states.count(ledger_mod.DONE),
        partitions_to_do=dict(Counter(s for s in states if s != ledger_mod.DONE)),
    )
    ledger_mod.write_run_json(ledger, run_info)
    ledger_mod.write_inputs_json(
        ledger,
        [i if "://" in i else os.path.abspath(i) for i in options.inputs],
        options.manifest and _as_recorded(options.manifest),
    )
    resume = _resume_line(states, prep.size_note)
    if resume:
        print(resume, file=stream)

    setup = RunSetup(
        recipe_pickle=pickle.dumps(prep.recipe),
        recipe_digest=prep.recipe.digest,
        keys=prep.keys,
        out_dir=prep.out_name or str(out),
        ledger_dir=str(ledger),
        verify=options.verify,
        file_timeout=options.file_timeout,
        limits=options.limits,
        storage_options=options.storage_options,
        pacs=prep.pacs,
        storage_env=None if options.scheduler else _credential_env(),
    )
    previous_state = run_info["history"][-2].get("state") if len(run_info["history"]) > 1 else None
    try:
        if all(s == ledger_mod.DONE for s in states) and previous_state == "complete":
            outcome = _Outcome([], None, 0)  # nothing to do, closing pass already done
        else:
            outcome = _execute(
                options, prep.paths, plan, states, setup, stream, early, started, prep.weights
            )
    except KeyboardInterrupt:
        # Finished partitions are in the ledger; say so where ``deid report`` looks.
        _finish(run_info, "interrupted", started)
        ledger_mod.write_run_json(ledger, run_info)
        raise

    counts = ledger_mod.count_ledger(ledger)
    if run_info["files"] is None and not (outcome.failures or outcome.destination):
        run_info["files"] = counts.files  # a PACS INPUT: every listed instance is recorded
    state = "complete"
    if outcome.destination:
        state = "destination-failed"
    elif outcome.failures:
        state = "incomplete"
    seconds = _finish(run_info, state, started, counts.as_dict(), outcome)
    try:
        ledger_mod.write_run_json(ledger, run_info)
    except OSError as error:
        if not is_destination_error(error):
            raise
        raise UserError(
            f"cannot write {ledger / 'run.json'}: {error.strerror}; fix it and run the same "
            "command again",
            exit_code=EXIT_DESTINATION,
        ) from None
    skipped = states.count(ledger_mod.DONE)
    # The rate only when this run did the whole batch; a resumed run says what it did.
    print_out(format_summary(counts, ledger, None if skipped else seconds))
    if skipped and outcome.files:
        rate = f" ({outcome.files / seconds:.1f} files/s)" if outcome.files and seconds else ""
        print(
            f"deid: this run: {outcome.files} file(s) of {n_parts - skipped} partition(s) in "
            f"{seconds:.1f} s{rate}; {skipped} partition(s) were done before",
            file=stream,
        )
    code = exit_code(counts)
    if outcome.destination:
        print(
            f"deid: cannot write the destination ({outcome.destination}); the run stopped and "
            "the partitions it was writing are not recorded: fix it (free space, make it "
            "writable) and run the same command again to finish every file",
            file=stream,
        )
        code = EXIT_DESTINATION
    elif outcome.failures:
        print(
            f"deid: {len(outcome.failures)} partition(s) failed (see above); "
            "rerun the same command",
            file=stream,
        )
        code = 1
    return RunResult(code, len(prep.paths), n_parts, seconds, counts.as_dict(), str(ledger))


def _finish(run_info: dict, state: str, started: float, counts=None, outcome=None) -> float:
    """Close this run's history entry and the run.json summary fields; returns the run's
    seconds, start-up included."""
    seconds = round(time.monotonic() - started, 3)
    this_run = run_info["history"][-1]
    this_run.update(state=state, finished=_now(), seconds=seconds)
    if outcome is not None:
        this_run.update(
            files_processed=outcome.files,
            failed_partitions=outcome.failures,
            destination_error=outcome.destination,
        )
    if counts is not None:
        this_run["counts"] = counts
        run_info["counts"] = counts
    run_info.update(
        state=state,
        finished=this_run["finished"],
        # All runs of the batch together: what the summary's rate is computed from.
        seconds=round(sum(r.get("seconds") or 0 for r in run_info["history"]), 3),
    )
    if outcome is not None:
        run_info["failed_partitions"] = outcome.failures
    return seconds


@dataclass
class _Outcome:
    failures: list[int]
    destination: str | None  # the first destination error, when the run stopped for one
    files: int  # files in the partitions this run processed


def _execute(
    options: RunOptions,
    paths: list[str],
    plan: list,
    states: list[str],
    setup,
    stream,
    early=None,
    started: float | None = None,
    weights: list[int] | None = None,
) -> _Outcome:
    """Submit every partition not done (a bounded number at a time), then the finishing
    task. A destination error stops the submitting: the partitions in flight finish or
    fail, nothing new starts, and the finishing task is left to the rerun."""
    from deid.pipeline.destination import DestinationFailed
    from deid.pipeline.duplicates import finish_run
    from deid.pipeline.partition import PROGRESS_TOPIC, run_partition
    from deid.pipeline.progress import RunProgress
    from deid.pipeline.scheduler import bounded_completion, dask_client

    n_parts = len(plan)
    n_local = _local_workers(options, len(paths), max((len(p) for p in plan), default=1))

    def files_of(start: int, stop: int) -> int:
        """Files in plan entries start..stop: a PACS series holds several."""
        return stop - start if weights is None else sum(weights[start:stop])

    failures: list[int] = []
    destination: list[str] = []
    processed = 0
    todo = iter([p for p, state in zip(plan, states) if state != ledger_mod.DONE])
    with (
        dask_client(options.scheduler, n_local, prestart_children=True, early=early) as client,
        RunProgress(files_of(0, len(paths)), stream, options.progress, started=started) as progress,
    ):
        client.subscribe_topic(
            PROGRESS_TOPIC,
            lambda event: progress.add(event[1]["files"], event[1]["quarantined"]),
        )
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        in_flight_limit = 2 * n_workers + 2
        shared = client.scatter(setup, broadcast=True)
        totals: Counter = Counter()
        skipped_files = sum(
            files_of(p.start, p.stop) for p, s in zip(plan, states) if s == ledger_mod.DONE
        )
        progress.set_done(skipped_files, 0)
        run_token = uuid.uuid4().hex[:8]  # task keys unique per run on a shared scheduler

        def submit_next():
            part = None if destination else next(todo, None)
            if part is None:
                return None
            return client.submit(
                run_partition,
                part.index,
                part.content_hash,
                paths[part.start : part.stop],
                shared,
                key=f"deid-partition-{part.index}-{run_token}",
                pure=False,
            )

        for future in bounded_completion(submit_next, in_flight_limit):
            try:
                result = future.result()
            except DestinationFailed as error:
                if not destination:
                    destination.append(str(error))
                failures.append(_index_of(future.key))
            except Exception as error:
                index = _index_of(future.key)
                failures.append(index)
                if len(failures) <= 3:  # one broken install fails them all: say it once
                    print(f"deid: partition {index} failed: {error}", file=stream)
            else:
                totals.update(result["status"])
                if not result.get("skipped"):
                    processed += sum(result["status"].values())
                done = skipped_files + sum(totals.values())
                progress.set_done(done, totals.get("quarantined", 0))
        if not destination:
            try:
                client.submit(finish_run, shared, n_parts, pure=False).result()
            except OSError as error:
                if not is_destination_error(error):
                    raise
                destination.append(f"closing pass: {error.strerror}")
    return _Outcome(sorted(failures), destination[0] if destination else None, processed)


def _index_of(key) -> int:
    try:
        return int(str(key).split("-")[2])
    except (IndexError, ValueError):
        return -1
