"""A worker child for tests: the real one, except that a file named ``HOG...`` makes the
parse step ask for 6 GiB (``numpy.empty``: address space only, no page is touched, so
without a limit it succeeds at no cost). Under the child's memory limit it must fail with
MemoryError inside the per-file code, and the file must be quarantined with that reason."""

from __future__ import annotations

import os
import sys

import numpy as np

from deid.pipeline import per_file as worker
from deid.pipeline.child import main

_parse = worker.parse


def _hungry_parse(data, kind):
    grabbed = np.empty(6 << 30, dtype=np.uint8)
    del grabbed
    return _parse(data, kind)


def process(path, ctx):
    worker.parse = _hungry_parse if os.path.basename(path).startswith("HOG") else _parse
    return worker.process_file(path, ctx)


if __name__ == "__main__":
    sys.exit(main(process))
