"""``deid run`` and ``deid ledger export-mappings``: the batch commands (``deid report`` is
in :mod:`deid.commands.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deid.commands.arguments import (
    add_cluster_arguments,
    add_storage_arguments,
    builtin_recipe_names,
    non_negative_int,
    positive_float,
    positive_int,
)
from deid.errors import UserError
from deid.pipeline.limits import (
    DEFAULT_CHILD_MEMORY_MB,
    DEFAULT_MAX_PIXEL_MB,
    DEFAULT_MAX_VALUE_KB,
)
from deid.pipeline.plan import DEFAULT_PARTITION_SIZE
from deid.storage.remote import Where


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="de-identify files and folders into OUT, with a Parquet ledger beside it",
        description=(
            "De-identify every file under INPUT (folders walked recursively; DICOM is "
            "recognised by content) into OUT/<study>/<series>/<sop>.dcm. Rerun the same "
            "command to resume an interrupted run. Exit 0: all written or excluded; "
            "1: some quarantined; 2: usage or recipe error; 3: the output or ledger could not "
            "be written (disk full, read-only, I/O error, quota: fix it, then rerun); "
            "130: interrupted (rerun to resume)."
        ),
    )
    run.add_argument(
        "recipe",
        metavar="RECIPE",
        help=f"recipe file (YAML), or a built-in recipe: {', '.join(builtin_recipe_names())}",
    )
    run.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="*",
        default=[],
        help="files or folders, object-storage URLs (s3://BUCKET/PREFIX, gs://, az://), or one "
        "PACS: dicomweb+https://host/dicom-web or dimse://AET@host:port",
    )
    run.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder or URL, or a PACS (dicomweb+https://... STOW-RS, "
        "dimse://AET@host:port C-STORE; then --ledger is required)",
    )
    run.add_argument(
        "--query",
        metavar="KEYS",
        help="for a PACS INPUT: QIDO-RS matching keys, e.g. "
        "'ModalitiesInStudy=CT&StudyDate=20240101-20241231' or StudyInstanceUID=... repeated "
        "(without it and without --manifest: every study the PACS lists)",
    )
    run.add_argument(
        "--move-to",
        metavar="AET:PORT",
        help="for a dimse:// INPUT: fetch with C-MOVE to a Storage SCP deid runs on PORT as "
        "AET (the archive must know AET at this host), instead of C-GET",
    )
    run.add_argument("--ledger", metavar="DIR", help="ledger folder or URL (default OUT.ledger)")
    run.add_argument(
        "--key-file", metavar="FILE", help="secret key, file or URL (else $DEID_KEY or ledger)"
    )
    add_cluster_arguments(run)
    add_storage_arguments(run)
    run.add_argument(
        "--manifest",
        metavar="FILE",
        help="paths or URLs: text (one a line) or Parquet; for a PACS INPUT: "
        "StudyInstanceUIDs, one a line",
    )
    run.add_argument(
        "--verify", action="store_true", help="re-scan each output; a leak quarantines"
    )
    run.add_argument(
        "--partition-size",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"files per partition (default: up to {DEFAULT_PARTITION_SIZE}, fewer so each worker "
        "gets several partitions of a small run); a rerun keeps what the "
        "ledger's earlier runs used",
    )
    run.add_argument(
        "--file-timeout",
        type=positive_float,
        default=120.0,
        metavar="SECONDS",
        help="quarantine a file not done in this time (default 120)",
    )
    run.add_argument(
        "--max-pixel-mb",
        type=positive_int,
        default=DEFAULT_MAX_PIXEL_MB,
        metavar="MB",
        help="quarantine, before decoding, a file whose pixel data would decode to more "
        f"(by its header or its frames' codestream headers; default {DEFAULT_MAX_PIXEL_MB})",
    )
    run.add_argument(
        "--max-value-kb",
        type=positive_int,
        default=DEFAULT_MAX_VALUE_KB,
        metavar="KB",
        help=f"quarantine a file with a longer text value (default {DEFAULT_MAX_VALUE_KB})",
    )
    run.add_argument(
        "--child-memory-mb",
        type=non_negative_int,
        default=DEFAULT_CHILD_MEMORY_MB,
        metavar="MB",
        help="address-space limit of each per-file process; a file that needs more is "
        f"quarantined (default {DEFAULT_CHILD_MEMORY_MB}; 0: no limit)",
    )
    run.add_argument("--dry-run", action="store_true", help="plan and count, process nothing")
    run.set_defaults(func=_run)

    ledger = subparsers.add_parser("ledger", help="ledger tools")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND")
    export = ledger_sub.add_parser(
        "export-mappings", help="write uid_mapping.csv and patid_mapping.csv (id_old,id_new)"
    )
    export.add_argument("ledger", metavar="LEDGER")
    export.add_argument("--out", required=True, metavar="DIR")
    export.set_defaults(func=_export)
    from deid.commands import ledger_check

    ledger_check.register(ledger_sub)
    ledger.set_defaults(func=lambda args: ledger.print_help() or 2)


def _run(args: argparse.Namespace) -> int:
    from deid.pipeline.batch import RunOptions, run
    from deid.pipeline.limits import Limits
    from deid.storage.filesystems import parse_storage_options

    options = RunOptions(
        recipe=args.recipe,
        inputs=list(args.inputs),
        out=args.out,
        ledger=args.ledger,
        key_file=args.key_file,
        workers=args.workers,
        scheduler=args.scheduler,
        manifest=args.manifest,
        query=args.query,
        move_to=args.move_to,
        verify=args.verify,
        partition_size=args.partition_size,
        dry_run=args.dry_run,
        file_timeout=args.file_timeout,
        limits=Limits.from_options(args.max_pixel_mb, args.max_value_kb, args.child_memory_mb),
        started=getattr(args, "started", None),
        scheduler_file=args.scheduler_file,
        storage_options=parse_storage_options(args.storage_options),
    )
    try:
        return run(options).exit_code
    except KeyboardInterrupt:
        raise UserError(
            "interrupted; run the same command again to resume (finished partitions are kept)",
            exit_code=130,
        ) from None


def _ledger_path(text: str) -> Where:
    from deid.storage.remote import location

    path = location(text, "LEDGER")
    if not (path / "files").is_dir():
        beside = location(f"{text.rstrip('/')}.ledger", "LEDGER")
        hint = f"; the ledger of that output is {beside}" if (beside / "files").is_dir() else ""
        raise UserError(f"not a deid ledger (no files/ folder): {text}{hint}")
    from deid.pipeline.ledger import require_intact

    require_intact(path)
    return path


def _export(args: argparse.Namespace) -> int:
    from deid.pipeline.ledger import reading
    from deid.pipeline.mappings import export_mappings

    ledger = _ledger_path(args.ledger)
    try:
        with reading(ledger):
            written = export_mappings(ledger, Path(args.out))
    except OSError as error:
        raise UserError(f"cannot write {error.filename or args.out}: {error.strerror}") from None
    for name, rows in written.items():
        print(f"deid: {Path(args.out) / name}: {rows} row(s)", file=sys.stderr)
    return 0
