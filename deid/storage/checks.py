"""One line for what a user gets wrong with a bucket, before anything is written.

Why: a missing bucket or a wrong access key would otherwise surface as a botocore traceback
from inside a Dask worker, after the ledger's header was written. ``deid run`` asks the
store once per location at start-up (:func:`check_reachable`): exit 2, nothing written.
"""

from __future__ import annotations

from deid.errors import UserError
from deid.storage.filesystems import scrub
from deid.storage.remote import RemotePath
from deid.storage.retry import retrying

#: A start-up check answers fast: a dead endpoint is a typo far more often than an outage.
PROBE_ATTEMPTS = 2

_CREDENTIAL_WORDS = (
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "access key id you provided",
    "security token",
    "expiredtoken",
    "unable to locate credentials",
    "nocredentials",
    "invalid credentials",
)


def _reason(error: BaseException, where: RemotePath) -> str:
    text = " ".join(str(error).split())
    lowered = text.lower() + type(error).__name__.lower()
    if any(word in lowered for word in _CREDENTIAL_WORDS):
        return (
            "the credentials were refused "
            "(check AWS_ACCESS_KEY_ID, AWS_PROFILE or --storage-options)"
        )
    if isinstance(error, PermissionError):
        return "access denied (check the credentials and the bucket's policy)"
    if isinstance(error, FileNotFoundError):
        return f"the bucket {where.bucket} does not exist"
    if type(error).__name__ in ("EndpointConnectionError", "ConnectTimeoutError") or isinstance(
        error, ConnectionError
    ):
        return "cannot connect to the storage service (check AWS_ENDPOINT_URL)"
    short = scrub(f"{type(error).__name__}: {text}" if text else type(error).__name__)
    return short if len(short) <= 160 else short[:159] + "…"


def storage_user_error(error: BaseException, context: str, where: RemotePath) -> UserError:
    """``error`` from the store as one :class:`UserError` line, secrets scrubbed."""
    if isinstance(error, UserError):
        return error
    return UserError(f"{context}: {_reason(error, where)}")


def check_reachable(path: RemotePath, what: str) -> None:
    """The bucket of ``path`` exists and these credentials may list it."""
    fs = path.fs

    def probe() -> None:
        if path.protocol == "s3":
            fs.call_s3("list_objects_v2", Bucket=path.bucket, MaxKeys=1)
        else:
            fs.ls(path.bucket, detail=False)

    try:
        retrying(probe, attempts=PROBE_ATTEMPTS)
    except Exception as error:
        raise storage_user_error(error, f"cannot use the {what} {path}", path) from None
