"""The closing summary, printed by ``deid run`` and again, later, by ``deid report``.

Both read the counts from the ledger itself (not from what the run remembered), so the two
always agree and a resumed run reports the whole batch, not just its last attempt.
"""

from __future__ import annotations

from pathlib import Path

from deid.pipeline.ledger import LedgerCounts, count_ledger, read_run_json


def exit_code(counts: LedgerCounts) -> int:
    """0 when everything was written, excluded or a duplicate; 1 when any was quarantined."""
    return 1 if counts.status.get("quarantined", 0) else 0


def format_summary(counts: LedgerCounts, ledger: Path, seconds: float | None = None) -> str:
    lines = []
    head = f"deid: {counts.files} file(s)"
    if seconds:
        head += f" in {seconds:.1f} s ({counts.files / seconds:.1f} files/s)"
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
                lines.append(f"    ... and {len(reasons) - 12} more reason(s): see the ledger")
    lines.append(f"  ledger: {ledger}")
    return "\n".join(lines)


def report(ledger: Path) -> tuple[str, int]:
    """The summary text of a finished (or interrupted) run and its exit code."""
    run = read_run_json(ledger) or {}
    counts = count_ledger(ledger)
    seconds = run.get("seconds")
    text = format_summary(counts, ledger, seconds)
    planned = run.get("files")
    if planned is not None and planned != counts.files:
        text += f"\n  incomplete: {counts.files} of {planned} planned files are in the ledger"
    if run.get("state") not in (None, "complete"):
        text += f"\n  run state: {run.get('state')} (rerun the same command to finish it)"
    return text, exit_code(counts)
