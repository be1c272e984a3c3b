"""Run one input through the per-file path (sniff, read, gather, de-identify, encode).

Shared by the corpus and fuzz tests. The outcome is either a clean refusal, an exception of
a known type (what the pipeline turns into a one-line quarantine reason), or output bytes
that were checked: Part 10, read back by pydicom, and none of the input's identifying values
in them. Anything else (an unexpected exception type, a leak, an unreadable output) fails.
"""

from __future__ import annotations

import io
import signal
import struct
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import pydicom
from pydicom.errors import BytesLengthException, InvalidDicomError

from deid.pipeline.per_file import SkipFile, parse
from deid.pipeline.sniff import HEAD_SIZE, sniff
from deid.rewrite.engine import deidentify
from deid.rewrite.quarantine import QuarantineError
from deid.rewrite.writer import encode_part10
from deid.verification.check import check_gathered, gather_identifying

#: Exceptions a corrupt file may legitimately raise while being read or rewritten; the
#: pipeline quarantines the file with the class name and message. RecursionError comes from
#: pydicom's recursive sequence reader on hundreds of nested undefined-length sequences.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    SkipFile,
    QuarantineError,
    InvalidDicomError,
    BytesLengthException,  # a value whose length does not fit its VR (e.g. a cut UL)
    EOFError,
    ValueError,  # includes UnicodeDecodeError and pydicom's value conversion errors
    OSError,
    struct.error,
    zlib.error,
    RecursionError,
    NotImplementedError,
    OverflowError,
)


class Hang(Exception):
    """The per-file work did not finish within its time limit."""


@contextmanager
def time_limit(seconds: int):
    def alarm(signum, frame):
        raise Hang(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    status: str  # "not-dicom", "error", "written"
    error: BaseException | None = None
    output: bytes = b""
    findings: tuple = ()


def run_one(data: bytes, recipe, keys, seconds: int = 30) -> Outcome:
    """The per-file path; raises only for what the tests must report (hang, bad exception)."""
    with time_limit(seconds), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind = sniff(data[:HEAD_SIZE], len(data))
        if kind is None:
            return Outcome("not-dicom")
        try:
            ds = parse(data, kind)
            ident = gather_identifying(ds, recipe)
            output = encode_part10(deidentify(ds, recipe, keys).dataset)
        except KNOWN_ERRORS as error:
            return Outcome("error", error)
        findings = tuple(check_gathered(ident, output, "out.dcm"))
        pydicom.dcmread(io.BytesIO(output))  # must read back, without force
        return Outcome("written", output=output, findings=findings)
