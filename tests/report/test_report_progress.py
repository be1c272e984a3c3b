"""Progress a person can plan with: an ETA, one rate, green while healthy, on stderr."""

from __future__ import annotations

import io
import re
import time

from deid.pipeline.progress import RunProgress, eta_text
from deid.pipeline.summary import rate_text


def test_eta_text():
    assert eta_text(0, 100, 0.0) == "-:--"
    assert eta_text(50, 100, 5.0) == "0:10"
    assert eta_text(0, 10_000, 2.0) == "1:23:20"
    assert eta_text(100, 100, 0.0) == "0:00"


def test_plain_lines_carry_rate_and_eta_from_the_commands_start():
    stream = io.StringIO()
    started = time.monotonic() - 10.0  # the command started 10 s ago (start-up included)
    progress = RunProgress(100, stream, tty=False, started=started)
    progress.add(50, 2)
    progress.set_done(100, 3)
    progress.close()
    last = stream.getvalue().splitlines()[-1]
    assert re.fullmatch(r"deid: 100/100 files, \d+\.\d files/s, ETA 0:00, 3 quarantined", last)
    rate = float(last.split(", ")[1].split()[0])
    assert 9.0 <= rate <= 10.0  # 100 files in ~10 s: the same clock as the summary's


def test_the_bar_is_green_and_never_red_while_healthy(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")  # as on a terminal, whatever CI's TERM is
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = io.StringIO()
    progress = RunProgress(10, stream, tty=True, started=time.monotonic() - 2)
    progress.add(4, 1)
    progress._bar.refresh()
    progress.close()
    text = stream.getvalue()
    assert "\x1b[" in text  # rendered as on a terminal
    assert re.search(r"\x1b\[[0-9;]*32m", text)  # green
    # no red: 31 (red), 91 (bright red), 38;5;197 or 38;2;249;38;114 (rich's default pink-red)
    assert not re.search(r"\x1b\[(?:[0-9;]*;)?(31|91|38;5;(160|196|197)|38;2;249;38;114)m", text)
    assert "ETA" in text and "files/s" in text and "1 quarantined" in text


def test_summary_and_bar_use_one_rate_format():
    assert rate_text(100, 10.0) == "10.0 files/s"
    assert rate_text(5, 0.0) == "- files/s"


def test_the_run_summary_goes_to_stdout_and_progress_to_stderr(example_run):
    out, err = example_run["stdout"], example_run["stderr"]
    assert out.startswith("deid: 17 file(s) in ") and "ledger:" in out and "ETA" not in out
    assert "ETA" in err and "written" not in err
    summary_rate = re.search(r"\((\d+\.\d) files/s\)", out).group(1)
    bar_rate = re.findall(r", (\d+\.\d) files/s, ETA", err)[-1]
    assert abs(float(summary_rate) - float(bar_rate)) <= max(0.5, 0.15 * float(summary_rate))
