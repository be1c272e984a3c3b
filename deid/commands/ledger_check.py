"""``deid ledger check``: list the damaged parts of a ledger, and move them aside on request.

A part cut short by a full disk, a copy that went wrong or a file someone dropped into
``files/`` would otherwise stop every reader (report, verify, export-mappings). Moving a
damaged part to ``LEDGER/damaged/`` (kept, never deleted) makes its partition incomplete,
so rerunning the same ``deid run`` command redoes exactly those files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deid.errors import UserError


def register(ledger_sub: argparse._SubParsersAction) -> None:
    check = ledger_sub.add_parser(
        "check",
        help="list damaged parts (truncated, foreign, unreadable); --quarantine moves them",
        description=(
            "Read every part of the ledger whole and list each one that is damaged, one "
            "line each. Exit 0: none; 1: some (moved to LEDGER/damaged/ with --quarantine; "
            "rerun the same deid run command to redo their partitions); 2: usage error."
        ),
    )
    check.add_argument("ledger", metavar="LEDGER")
    check.add_argument(
        "--quarantine",
        action="store_true",
        help="move damaged parts to LEDGER/damaged/ so the next run redoes them",
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from deid.pipeline import ledger as ledger_mod

    ledger = Path(args.ledger)
    if not (ledger / "files").is_dir():
        raise UserError(f"not a deid ledger (no files/ folder): {args.ledger}")
    problems = ledger_mod.damaged_parts(ledger, full=True)
    for problem in problems:
        print(f"{problem.line(ledger)}", flush=True)
    if not problems:
        print(f"deid ledger check: {ledger}: no damaged part", file=sys.stderr)
        return 0
    if args.quarantine:
        try:
            with ledger_mod.exclusive(ledger):  # never under a run that is writing it
                moved = ledger_mod.quarantine_parts(ledger, problems)
        except OSError as error:
            raise UserError(f"cannot move {error.filename}: {error.strerror}") from None
        print(
            f"deid ledger check: moved {len(moved)} file(s) to {ledger / ledger_mod.DAMAGED}; "
            "rerun the same deid run command to redo their partitions",
            file=sys.stderr,
        )
    else:
        print(
            f"deid ledger check: {len(problems)} damaged file(s); --quarantine moves them aside",
            file=sys.stderr,
        )
    return 1
