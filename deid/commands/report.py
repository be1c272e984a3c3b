"""``deid report``: a run's summary, its files by status, or its review page, from the ledger.

Results go to stdout (a summary, a listing); notes go to stderr. The exit code tells a
finished run from one that is not (see :mod:`deid.pipeline.summary`): 0 complete, 1 complete
with quarantined files, 3 running, 4 interrupted or killed, 5 incomplete, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deid.errors import UserError
from deid.pipeline.records import STATUSES
from deid.storage.remote import Where

EPILOG = (
    "exit codes: 0 the run is complete; 1 complete, some files quarantined; 2 usage error; "
    "3 a run is writing the ledger now; 4 the run was interrupted or killed (rerun it); "
    "5 the run is incomplete (failed partitions or missing files; rerun it)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="a run's summary, its files by status, or a review page, from its ledger",
        description=(
            "Print the summary of a run from its ledger. --quarantined or --status lists "
            "those files' input paths with their reasons instead; --html writes a "
            "self-contained review page."
        ),
        epilog=EPILOG,
    )
    report.add_argument("ledger", metavar="LEDGER")
    which = report.add_mutually_exclusive_group()
    which.add_argument(
        "--quarantined",
        action="store_const",
        const=["quarantined"],
        dest="statuses",
        help="list the quarantined files with their reasons (same as --status quarantined)",
    )
    which.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        dest="statuses",
        metavar="S",
        help=f"list the files with status S ({', '.join(STATUSES)}; repeat for several)",
    )
    report.add_argument(
        "--format",
        choices=("text", "csv", "json"),
        default="text",
        help="text (tab-separated input, status, reason), csv or json (default text)",
    )
    report.add_argument(
        "--html",
        metavar="FILE",
        help="write a review page (counts, quarantine table, contact sheet of cleaned images)",
    )
    report.add_argument(
        "--dicomdir",
        metavar="DIR",
        help="copy the written outputs into DIR as a DICOM file-set with a new DICOMDIR "
        "(input DICOMDIRs are excluded from runs: they would point at nothing)",
    )
    report.add_argument(
        "--out",
        metavar="DIR",
        help="the run's output folder, for --html and --dicomdir (default: from run.json)",
    )
    report.set_defaults(func=_report)


def ledger_path(text: str) -> Where:
    """The LEDGER argument: a folder or an object-storage URL (``s3://...``)."""
    from deid.storage.remote import location

    path = location(text, "LEDGER")
    if not (path / "files").is_dir():
        beside = location(f"{text.rstrip('/')}.ledger", "LEDGER")
        hint = f"; the ledger of that output is {beside}" if (beside / "files").is_dir() else ""
        raise UserError(f"not a deid ledger (no files/ folder): {text}{hint}")
    return path


def _report(args: argparse.Namespace) -> int:
    from deid.pipeline.ledger import reading
    from deid.pipeline.summary import print_out, report, silence_stdout

    ledger = ledger_path(args.ledger)
    with reading(ledger):  # a damaged part: one line naming it
        text, code = report(ledger)
    if args.dicomdir:
        written = _write_dicomdir(ledger, Path(args.dicomdir), args.out)
        print(f"deid: wrote {args.dicomdir}/DICOMDIR over {written} file(s)", file=sys.stderr)
        if not (args.statuses or args.html):
            return code
    if args.html:
        from deid.pipeline.review import write_review

        held = write_review(ledger, Path(args.html), Path(args.out) if args.out else None)
        print(
            f"deid: wrote {args.html}: {held['files']} file(s), {held['listed']} quarantined "
            f"or excluded, {held['images']} cleaned image(s)",
            file=sys.stderr,
        )
        if not args.statuses:
            return code
    try:
        if args.statuses:
            _list(ledger, args.statuses, args.format)
        elif args.format == "text":
            print_out(text)
        else:
            _summary_data(ledger, text, code, args.format)
    except BrokenPipeError:  # the reader stopped early (| head): not an error
        silence_stdout()
    return code


def _list(ledger: Where, statuses: list[str], fmt: str) -> None:
    from deid.pipeline.listing import iter_rows, render

    out = sys.stdout
    for line in render(iter_rows(ledger, statuses), fmt):
        out.write(line + "\n")
    out.flush()


def _summary_data(ledger: Where, text: str, code: int, fmt: str) -> None:
    from deid.pipeline.ledger import count_ledger, read_run_json
    from deid.pipeline.summary import print_out, run_state

    run = read_run_json(ledger) or {}
    counts = count_ledger(ledger)
    state = run_state(ledger, run, counts)
    if fmt == "json":
        data = {"ledger": str(ledger), "state": state, "exit_code": code, **counts.as_dict()}
        data["planned"] = run.get("files")
        data["seconds"] = run.get("seconds")
        print_out(json.dumps(data, indent=2, ensure_ascii=False))
        return
    lines = ["status,files", *(f"{s},{counts.status.get(s, 0)}" for s in STATUSES)]
    print_out("\n".join(lines))


def _write_dicomdir(ledger: Where, dest: Path, out: str | None) -> int:
    """The written outputs the ledger names, as a file-set in ``dest`` (never inside the
    output, where its copies would be files no ledger row names, nor inside the ledger)."""
    import os

    from deid.pipeline.ledger import read_run_json
    from deid.pipeline.listing import iter_rows
    from deid.rewrite.dicomdir import write_fileset

    recorded = out or (read_run_json(ledger) or {}).get("out")
    if not recorded or not Path(recorded).is_dir():
        raise UserError(f"the run's output folder {recorded or '?'} is not there; give --out")
    out_dir = Path(recorded)
    target = Path(os.path.realpath(dest))
    for folder, what in ((out_dir, "output"), (ledger, "ledger")):
        real = Path(os.path.realpath(folder))
        if target == real or real in target.parents:
            raise UserError(f"--dicomdir {dest} is inside the run's {what} {folder}")
    paths = [out_dir / row["output_path"] for row in iter_rows(ledger, ["written"])]
    try:
        return write_fileset(paths, dest)
    except FileExistsError:
        raise UserError(f"--dicomdir {dest} exists and is not empty") from None
    except OSError as error:
        raise UserError(f"cannot write {error.filename or dest}: {error.strerror}") from None
