"""``deid verify``: re-scan a run's output for residual identifiers and broken invariants.

Prints one line per finding (output file, attribute path, kind; never the value) as soon as
its partition finishes, then a summary, both on stdout (notes on stderr). Exit 0 clean, 1 on
any finding, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deid.commands.arguments import add_cluster_arguments, positive_int
from deid.pipeline.plan import DEFAULT_PARTITION_SIZE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="re-scan de-identified output for residual identifiers",
        description=(
            "For every input file, search its output (every element at every level, file "
            "meta, preamble, raw bytes, output path) for the values the recipe did not keep; "
            "check that every input is in the ledger exactly once, that references resolve "
            "and that the study/series/instance hierarchy is preserved. Exit 0: clean; "
            "1: findings; 2: usage error."
        ),
    )
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        metavar="IN",
        help="input file or folder of the run (repeat for several; default: the run's "
        "inputs the ledger recorded in inputs.json)",
    )
    parser.add_argument(
        "out_positional", nargs="?", metavar="OUT", help="the run's output folder (or --out)"
    )
    parser.add_argument("--out", metavar="OUT", help="the same as OUT")
    parser.add_argument("--ledger", metavar="LEDGER", help="the run's ledger (default OUT.ledger)")
    parser.add_argument(
        "--recipe", metavar="R", help="recipe (default: the one named in the ledger's run.json)"
    )
    parser.add_argument(
        "--pixels",
        choices=("cleaned", "all"),
        default="cleaned",
        help="re-read by OCR the pixels of the images Clean Pixel Data cleaned (default) or "
        "of every image, and report identifying header values still readable",
    )
    add_cluster_arguments(parser)
    parser.add_argument(
        "--show-input-paths",
        action="store_true",
        help="also name the input of each finding (input paths often hold patient names; "
        "by default findings name outputs, ledger rows or 'input #N' of the sorted inputs)",
    )
    parser.add_argument(
        "--partition-size",
        type=positive_int,
        default=DEFAULT_PARTITION_SIZE,
        metavar="N",
        help="files per task",
    )
    parser.set_defaults(func=_verify)


def _output_argument(args: argparse.Namespace) -> str:
    """OUT, given as ``deid verify OUT`` (like ``deid report LEDGER``) or ``--out OUT``."""
    from deid.errors import UserError

    given = [v for v in (args.out_positional, args.out) if v]
    if not given:
        raise UserError("verify: give the run's output folder: deid verify OUT")
    if len(given) == 2 and given[0] != given[1]:
        raise UserError(f"verify: two output folders given: {given[0]} and --out {given[1]}")
    return given[0]


def _verify(args: argparse.Namespace) -> int:
    from deid.pipeline.ledger import reading
    from deid.pipeline.summary import print_out
    from deid.verifyrun.runner import verify_run

    args.out = _output_argument(args)
    ledger = args.ledger or f"{args.out.rstrip('/')}.ledger"
    note = _pair_note(args.out, ledger)
    from deid.commands.arguments import scheduler_of

    args.scheduler = scheduler_of(args)  # --scheduler, or the address in --scheduler-file
    if args.scheduler:
        from deid.pipeline.scheduler import check_scheduler

        check_scheduler(args.scheduler)

    def show(finding) -> None:
        print_out(finding.line(args.show_input_paths))

    from deid.storage.remote import location

    with reading(location(ledger)):  # a part damaged inside: one line naming it
        report = verify_run(
            args.inputs or [],
            args.out,
            ledger,
            recipe=args.recipe,
            workers=args.workers,
            scheduler=args.scheduler,
            partition_size=args.partition_size,
            on_finding=show,
            pixels=args.pixels,
        )
    print_out("\n".join(f"deid verify: {line}" for line in report.summary_lines()))
    if note and not report.clean:  # last, where it is read: it explains the findings
        print(f"deid verify: note: {note}", file=sys.stderr)
    return 0 if report.clean else 1


def _pair_note(out: str, ledger: str) -> str | None:
    """A note when the ledger was written for another output that still exists: then every
    file is reported missing or orphaned, and this line names the likely mistake. Only a
    note, because verifying a copy of an output and its ledger is legitimate."""
    from deid.pipeline.ledger import read_run_json

    if not (Path(ledger) / "files").is_dir():
        return None  # verify_run says "no ledger at ..."
    recorded = (read_run_json(Path(ledger)) or {}).get("out")
    if recorded and os.path.isdir(recorded) and os.path.realpath(recorded) != os.path.realpath(out):
        return (
            f"the ledger {ledger} was written for the output {recorded}, not {out}; "
            "if this is not a copy of it, give the right --ledger"
        )
    return None
