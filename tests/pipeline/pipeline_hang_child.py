"""A worker child for tests: the real one, except that some paths hang or crash it.

``HANG`` in a file name sleeps far past any time limit; ``CRASH`` kills the process with
SIGSEGV, as a crashing C extension would; both while the file is processed and while
``--verify``'s partition index reads it (a file that hangs the parser hangs both).
``IDLE`` exits with status 0 the first time (as a child whose idle time-out fired just as
the file arrived), leaving a marker file beside the input so that the retry goes through.
Everything else is processed for real.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from deid.pipeline.child import _input_hashes, main
from deid.pipeline.per_file import process_file


def _misbehave(path) -> None:
    name = os.path.basename(path)
    if "HANG" in name:
        time.sleep(3600)
    if "CRASH" in name:
        os.kill(os.getpid(), signal.SIGSEGV)


def hash_input(path, ctx):
    _misbehave(path)
    return _input_hashes(path, ctx)


def process(path, ctx):
    name = os.path.basename(path)
    _misbehave(path)
    marker = f"{path}.seen"
    if "IDLE" in name and not os.path.exists(marker):
        open(marker, "w").close()
        sys.exit(0)
    return process_file(path, ctx)


if __name__ == "__main__":
    sys.exit(main(process, hash_input))
