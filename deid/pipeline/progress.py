"""What a person watching a run sees: a rich bar on a terminal, plain lines otherwise.

Counts arrive from two places: per-file events the workers publish every half second (for
a live rate) and per-partition results (authoritative). Both only add numbers, so the
display costs nothing per file on the client.

One rate: files accounted for per second since the command started (``started``, the
clock the closing summary uses too), so the bar's last rate is the summary's rate. The ETA
is the files left at that rate. Everything goes to stderr (the summary, a result, goes to
stdout), and nothing is red while the run is healthy: the bar is green, a quarantined count
is plain text (quarantining a bad input is the pipeline working).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from deid.pipeline.summary import rate_text


def eta_text(done: int, total: int, rate: float) -> str:
    """Time left at ``rate``: ``0:42``, ``1:02:03``; ``-:--`` before there is a rate."""
    if done >= total:
        return "0:00"
    if rate <= 0:
        return "-:--"
    seconds = round((total - done) / rate)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunProgress:
    """Files done, rate, ETA and quarantined so far, for ``total`` files."""

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        tty: bool | None = None,
        started: float | None = None,
    ):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self.quarantined = 0
        self.started = time.monotonic() if started is None else started
        self._last_line = time.monotonic()
        self._last_done = -1
        self._lock = threading.Lock()
        self._bar = None
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("deid"),
                BarColumn(complete_style="green", finished_style="green"),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA {task.fields[eta]}"),
                TextColumn("{task.fields[quarantined]} quarantined"),
                console=Console(file=self.stream, force_terminal=True),
                transient=True,
            )
            self._task = self._bar.add_task(
                "run", total=total, rate=rate_text(0, 0), eta="-:--", quarantined=0
            )
            self._bar.start()

    def elapsed(self) -> float:
        return max(0.0, time.monotonic() - self.started)

    def rate(self) -> float:
        elapsed = self.elapsed()
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> str:
        return eta_text(self.done, self.total, self.rate())

    def add(self, files: int, quarantined: int = 0) -> None:
        with self._lock:
            self.done = min(self.total, self.done + files)
            self.quarantined += quarantined
            self._show()

    def set_done(self, done: int, quarantined: int) -> None:
        """Authoritative totals from finished partitions (events may lag or repeat)."""
        with self._lock:
            self.done = max(self.done, min(done, self.total))
            self.quarantined = max(self.quarantined, quarantined)
            self._show()

    def line(self) -> str:
        """The plain progress line (no terminal)."""
        return (
            f"deid: {self.done}/{self.total} files, {rate_text(self.done, self.elapsed())}, "
            f"ETA {self.eta()}, {self.quarantined} quarantined"
        )

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self.done,
                rate=rate_text(self.done, self.elapsed()),
                eta=self.eta(),
                quarantined=self.quarantined,
            )
            return
        now = time.monotonic()
        finished = self.done >= self.total and self._last_done < self.total
        if finished or (now - self._last_line >= 5.0 and self.done != self._last_done):
            self._last_line, self._last_done = now, self.done
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
