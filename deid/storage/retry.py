"""Retry with backoff on what a store says when it is busy or the network hiccups.

Why: at a million objects, throttling (HTTP 503 SlowDown), an internal error (500) or a
reset connection is a certainty, and none of them says anything about the object. botocore
retries a few of them itself; what it hands up is retried here, with exponential backoff
and jitter, before the operation counts as failed. Anything else (not found, access denied,
a bad request) is answered at once: retrying would only delay the one-line error.
"""

from __future__ import annotations

import errno
import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ATTEMPTS = 8
FIRST_DELAY = 0.1
MAX_DELAY = 5.0
#: errno values s3fs gives 5xx and throttling answers (see s3fs.errors), and the network's.
TRANSIENT_ERRNOS = frozenset(
    code
    for code in (
        errno.EBUSY,  # 503 SlowDown
        getattr(errno, "EREMOTEIO", None),  # 500 InternalError
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EPIPE,
        errno.EAGAIN,
    )
    if code is not None
)
_TRANSIENT_WORDS = (
    "slow down",
    "slowdown",
    "service unavailable",
    "internal error",
    "internalerror",
    "throttl",
    "connection reset",
    "connection was closed",
    "server disconnected",
    "bad gateway",
    "gateway timeout",
    "timed out",
    "please reduce your request rate",
)


def is_transient(error: BaseException) -> bool:
    """A store or network error worth another try."""
    if isinstance(error, (FileNotFoundError, PermissionError, FileExistsError)):
        return False
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
        return True
    name = type(error).__name__
    if name in (
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ServerDisconnectedError",
        "ClientOSError",
        "ClientPayloadError",
        "ResponseStreamingError",
        "IncompleteReadError",
    ):
        return True
    text = str(error).lower()
    return any(word in text for word in _TRANSIENT_WORDS)


def retrying(call: Callable[[], T], attempts: int = ATTEMPTS, sleep=time.sleep) -> T:
    """``call()``, again after a growing pause while it fails with a transient error."""
    delay = FIRST_DELAY
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
        sleep(min(MAX_DELAY, delay) * (0.5 + random.random()))
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
