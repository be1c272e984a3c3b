"""The closing summary, printed by ``deid run`` and again, later, by ``deid report``.

Both read the counts from the ledger itself (not from what the run remembered), so the two
always agree and a resumed run reports the whole batch, not just its last attempt.

``deid report`` exits as a finished run did (0 or 1), and with a code of its own when the
run did not finish, so that a CI gate can tell "finished with quarantined files" from "not
finished at all":

====  ==================================================================================
0     complete: every file written, excluded or a duplicate
1     complete, and some files were quarantined
3     running: a ``deid run`` holds the ledger right now
4     interrupted: stopped by Ctrl-C, or killed (run.json still says running but no
      process holds the ledger)
5     incomplete: the run ended with failed partitions, or the ledger holds fewer files
      than the run planned
====  ==================================================================================
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO

from deid.pipeline.ledger import LedgerCounts, count_ledger, read_run_json
from deid.storage.remote import Where

EXIT_RUNNING = 3
EXIT_INTERRUPTED = 4
EXIT_INCOMPLETE = 5
STATE_EXIT = {"running": EXIT_RUNNING, "interrupted": EXIT_INTERRUPTED}


def exit_code(counts: LedgerCounts) -> int:
    """0 when everything was written, excluded or a duplicate; 1 when any was quarantined."""
    return 1 if counts.status.get("quarantined", 0) else 0


def rate_text(files: int, seconds: float) -> str:
    """The one rate a person sees, in the bar and in the summary: files accounted for
    (processed, or found done by an earlier run) per second since the command started."""
    return f"{files / seconds:.1f} files/s" if seconds > 0 else "- files/s"


def format_summary(counts: LedgerCounts, ledger: Where, seconds: float | None = None) -> str:
    lines = []
    head = f"deid: {counts.files} file(s)"
    if seconds:
        head += f" in {seconds:.1f} s ({rate_text(counts.files, seconds)})"
    lines.append(head)
    width = 12
    for status in ("written", "quarantined", "excluded", "duplicate"):
        lines.append(f"  {status:<{width}}{counts.status.get(status, 0):>9}")
        reasons = {
            "quarantined": counts.quarantine_reasons,
            "excluded": counts.excluded_reasons,
        }.get(status)
        if reasons:
            for reason, n in reasons.most_common(12):
                lines.append(f"    {n:>7}  {reason}")
            if len(reasons) > 12:
                lines.append(
                    f"    ... and {len(reasons) - 12} more reason(s): "
                    f"deid report {ledger} --status {status}"
                )
    lines.append(f"  ledger: {ledger}")
    return "\n".join(lines)


def _held_by_a_run(ledger: Where) -> bool:
    """Whether a ``deid run`` holds the ledger's lock now (it holds it for its whole life;
    the lock dies with the process, so a killed run holds nothing)."""
    import fcntl

    from deid.storage.remote import RemotePath

    if isinstance(ledger, RemotePath):
        return False  # a bucket holds no lock (see deid.pipeline.ledger.exclusive)
    try:
        fd = os.open(ledger / "lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def run_state(ledger: Where, run: dict, counts: LedgerCounts) -> str:
    """complete, running, interrupted or incomplete (see the module's table)."""
    recorded = run.get("state")
    if _held_by_a_run(ledger):
        return "running"
    if recorded in ("running", "interrupted"):
        return "interrupted"
    if recorded not in (None, "complete"):
        return "incomplete"
    planned = run.get("files")
    if planned is not None and planned != counts.files:
        return "incomplete"
    return "complete"


_STATE_NOTE = {
    "running": "a deid run is writing this ledger now; the counts are what it has finished",
    "interrupted": "the run stopped before it finished (interrupted or killed); "
    "rerun the same command to finish it",
    "incomplete": "the run ended without every file in the ledger; "
    "rerun the same command to finish it",
}


def report(ledger: Where) -> tuple[str, int]:
    """The summary text of a run (finished or not) and the exit code of ``deid report``."""
    run = read_run_json(ledger) or {}
    counts = count_ledger(ledger)
    text = format_summary(counts, ledger, run.get("seconds"))
    state = run_state(ledger, run, counts)
    planned = run.get("files")
    if planned is not None and planned != counts.files:
        text += f"\n  incomplete: {counts.files} of {planned} planned files are in the ledger"
    if state != "complete":
        text += f"\n  run state: {state} ({_STATE_NOTE[state]})"
        return text, STATE_EXIT.get(state, EXIT_INCOMPLETE)
    return text, exit_code(counts)


def print_out(text: str, stream: TextIO | None = None) -> None:
    """Print a result (a summary, a listing) to stdout, where results go (progress and
    warnings go to stderr). A reader that stops early (``| head``) is not an error: the
    rest is dropped quietly instead of ending in a BrokenPipeError traceback."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
