"""Bounded exponential backoff for transient PACS errors, then a PacsError with the reason.

Transient: a refused or reset connection, a timeout, HTTP 5xx (and 429), an association that
could not be opened for lack of a listener, a C-STORE "Out of Resources" (0xA7xx). Everything
else (401, 404, a rejected association, a failed C-STORE) is permanent and fails at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from deid.pacs.failures import PacsError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay_s: float = 0.25
    max_delay_s: float = 4.0

    def delays(self) -> list[float]:
        return [min(self.first_delay_s * 2**i, self.max_delay_s) for i in range(self.attempts - 1)]


DEFAULT_POLICY = RetryPolicy()


class TransientError(Exception):
    """Raised inside a PACS call for a cause worth retrying; carries a one-line reason."""


def describe_http_error(error: requests.RequestException, what: str) -> tuple[str, bool]:
    """(one-line reason without credentials, transient?) for a requests failure."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        code = error.response.status_code
        reason = f"{what}: HTTP {code} {error.response.reason or ''}".rstrip()
        if code == 401:
            reason += " (credentials missing or refused)"
        return reason, code >= 500 or code == 429
    if isinstance(error, requests.Timeout):
        return f"{what}: timed out", True
    if isinstance(error, requests.exceptions.SSLError):
        # Not transient, and not "unreachable": the server answered with a certificate
        # this machine does not trust (or spoke no TLS at all).
        detail = "certificate verify failed" if _untrusted(error) else "TLS handshake failed"
        return (
            f"{what}: {detail} (trust the archive's CA with DEID_CA_BUNDLE=/path/ca.pem)",
            False,
        )
    if isinstance(error, requests.ConnectionError):
        return f"{what}: connection failed (refused, reset or unreachable)", True
    return f"{what}: {type(error).__name__}", False


def _untrusted(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if "CERTIFICATE_VERIFY_FAILED" in str(seen) or "certificate verify failed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return any("certificate verify failed" in str(a) for a in error.args)


def with_retry(call: Callable[[], T], what: str, policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """Run ``call``; retry transient failures with backoff; raise PacsError when spent."""
    delays = policy.delays()
    for attempt in range(policy.attempts):
        try:
            return call()
        except PacsError:
            raise
        except TransientError as error:
            reason, transient = str(error), True
        except requests.RequestException as error:
            reason, transient = describe_http_error(error, what)
        if not transient:
            raise PacsError(reason)
        if attempt == policy.attempts - 1:
            break
        log.info("%s; retrying in %.2f s", reason, delays[attempt])
        time.sleep(delays[attempt])
    raise PacsError(f"{reason} (after {policy.attempts} attempts)", transient=True)
