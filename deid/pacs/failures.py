"""The one error a PACS call raises once retries are spent: a reason to quarantine with."""

from __future__ import annotations


class PacsError(Exception):
    """A fetch, list or send that failed; ``str()`` is one line without credentials.

    ``transient`` says whether the cause was of the kind retried (refused connection, timeout,
    HTTP 5xx, C-STORE Out of Resources): a later rerun may succeed, so the instance is
    quarantined rather than written off.
    """

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
