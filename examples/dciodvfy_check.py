#!/usr/bin/env python3
"""IOD-validity check with dicom3tools' ``dciodvfy``: ``dciodvfy_check.py FILE...``.

Why: "the output stays a valid DICOM object" is a promise deid makes, and dciodvfy (Debian
package dicom3tools) is the checker the DICOM community uses. Synthetic and real inputs
are rarely error-free, so the useful question is not "is the output clean" but "did
de-identification add an error the input did not have". For that the error lines must be
comparable across input and output, whose values differ by design (names, UIDs, dates):
``normalise`` keeps what the error is about (message, attribute, module, value index) and
drops the value itself.

Importable like ``make_export`` (put ``examples/`` on ``sys.path``)::

    from dciodvfy_check import dciodvfy_errors, dciodvfy_available
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

DCIODVFY = "dciodvfy"
TIMEOUT_SECONDS = 60

# "DS [1] = <-76.80000000000001> - ..." -> "DS [1] = <> - ...": the value is data, not the error.
_VALUE = re.compile(r"(\[\d+\]) = <.*?>(?= - |$)")
# "Length invalid for this VR = 18, expected <= 16": the length follows the value.
_LENGTH = re.compile(r"(Length invalid for this VR) = \d+")
_SPACES = re.compile(r"\s+")


def dciodvfy_available() -> bool:
    """True when the ``dciodvfy`` executable is on PATH (tests skip otherwise)."""
    return shutil.which(DCIODVFY) is not None


def normalise(line: str) -> str:
    """One error line with its values removed and whitespace collapsed."""
    line = _SPACES.sub(" ", line.strip())
    line = _VALUE.sub(r"\1 = <>", line)
    return _LENGTH.sub(r"\1 = N", line)


def dciodvfy_lines(path: str | Path) -> list[str]:
    """Everything dciodvfy prints for ``path`` (it writes its report on stderr)."""
    proc = subprocess.run(
        [DCIODVFY, str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return (proc.stdout + proc.stderr).splitlines()


def dciodvfy_errors(path: str | Path) -> set[str]:
    """The normalised "Error" lines dciodvfy reports for ``path`` (warnings ignored)."""
    return {normalise(line) for line in dciodvfy_lines(path) if line.strip().startswith("Error")}


def main(argv: list[str] | None = None) -> int:
    """Print each file's normalised errors; exit 1 when any file has one."""
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print("usage: dciodvfy_check.py FILE...", file=sys.stderr)
        return 2
    if not dciodvfy_available():
        print("dciodvfy not found: install Debian's dicom3tools", file=sys.stderr)
        return 2
    bad = 0
    for name in files:
        errors = sorted(dciodvfy_errors(name))
        bad += bool(errors)
        for error in errors:
            print(f"{name}: {error}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
