"""A worker child for tests: the real one, except that some paths hang or crash it.

``HANG`` in a file name sleeps far past any time limit; ``CRASH`` kills the process with
SIGSEGV, as a crashing C extension would. Everything else is processed for real.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from deid.pipeline.child import main
from deid.pipeline.worker import process_file


def process(path, ctx):
    name = os.path.basename(path)
    if "HANG" in name:
        time.sleep(3600)
    if "CRASH" in name:
        os.kill(os.getpid(), signal.SIGSEGV)
    return process_file(path, ctx)


if __name__ == "__main__":
    sys.exit(main(process))
