"""Errors of the destination (output or ledger volume), told apart from a file's own fate.

A full disk, a read-only or failing volume or an exhausted quota says nothing about the
input being written: recording its file as quarantined would make the rerun the README
recommends skip it for good (a finished partition is never redone). So such an error fails
the whole partition (nothing of it reaches the ledger, the rerun redoes it) and stops the
run with its own exit code, :data:`EXIT_DESTINATION`.
"""

from __future__ import annotations

import errno

#: "Fix the destination, then run the same command again": neither 1 (quarantined files,
#: a property of the inputs) nor 2 (usage).
EXIT_DESTINATION = 3

#: errno values that belong to the volume written to, not to the file written.
DESTINATION_ERRNOS = frozenset(
    code
    for code in (
        errno.ENOSPC,
        errno.EROFS,
        errno.EIO,
        getattr(errno, "EDQUOT", None),
        errno.EFBIG,
    )
    if code is not None
)

#: The status a child gives a record whose write met such an error; it never reaches the
#: ledger (the partition fails instead).
DESTINATION_FAILED = "destination-failed"


class DestinationFailed(RuntimeError):
    """The output or ledger volume refused a write; the message is one line, value-free
    (which volume and the system's reason, never a file name from the input)."""


def is_destination_error(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DESTINATION_ERRNOS
