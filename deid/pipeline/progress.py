"""What a person watching a run sees: a rich bar on a terminal, plain lines otherwise.

Counts arrive from two places: per-file events the workers publish every half second (for
a live rate) and per-partition results (authoritative). Both only add numbers, so the
display costs nothing per file on the client.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class RunProgress:
    """Files done, rate and quarantined so far, for ``total`` files."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self.quarantined = 0
        self.started = time.monotonic()
        self._last_line = time.monotonic()
        self._last_done = -1
        self._lock = threading.Lock()
        self._bar = None
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("deid"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} files/s"),
                TextColumn("quarantined {task.fields[quarantined]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._task = self._bar.add_task("run", total=total, rate=0.0, quarantined=0)
            self._bar.start()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

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

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task, completed=self.done, rate=self.rate(), quarantined=self.quarantined
            )
            return
        now = time.monotonic()
        finished = self.done >= self.total and self._last_done < self.total
        if finished or (now - self._last_line >= 5.0 and self.done != self._last_done):
            self._last_line, self._last_done = now, self.done
            print(
                f"deid: {self.done}/{self.total} files, {self.rate():.1f} files/s, "
                f"{self.quarantined} quarantined",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
