"""The per-file GET and PUT of S3 objects through obstore (Rust's ``object_store``).

Why a second client beside s3fs: a worker makes two requests per file (the input's GET,
the output's conditional PUT), and through s3fs/aiobotocore each costs 2.6-3.3 ms of the
worker's CPU (signing, the event-loop hop, parsing), about what the engine itself spends
on a small file. obstore does the same request for about 0.5 ms. Everything else (listing,
the ledger's Parquet parts, ``exists``, ``stat``) stays on s3fs, which is also the
reference this path falls back to.

When the fast path is used: the ``obstore`` package imports (the ``s3`` extra installs it
where a wheel exists), and ``--storage-options`` says nothing for S3 (its keywords are
s3fs's; rather than translate them, such a run keeps s3fs). Credentials come from
botocore's own chain (environment, ``AWS_PROFILE``, SSO, instance and pod roles: the same
as s3fs), re-read before they expire; the endpoint from ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``; the region from botocore's configuration.

What it answers: the object's bytes; ``FileNotFoundError``, ``PermissionError`` or
``FileExistsError`` for the object's own fate, mapped as s3fs maps them; and
:class:`Unavailable` for anything else (a region redirect, a store that does not speak the
request), on which the caller does the same operation through s3fs, with its retries. A
bucket that answers that way once is left to s3fs for the rest of the process.

Fork: ``object_store``'s runtime does not survive a ``fork`` without ``exec`` (a forked
child that uses it hangs). deid's processes are started by exec (the per-file children) or
forked from the forkserver before any store exists (the local workers); stores are kept per
process id, and :data:`DISABLE_ENV` turns the path off for a deployment that forks.
"""

from __future__ import annotations

import datetime
import os
import threading
from typing import Any

from deid.storage.filesystems import protocol_options
from deid.storage.retry import is_transient

#: Set to any value to keep every S3 request on s3fs.
DISABLE_ENV = "DEID_S3_S3FS_ONLY"
#: Credentials are asked of botocore again after this long (it refreshes them itself when
#: they are temporary; this only bounds how long a rotated key is kept).
CREDENTIAL_REFRESH = datetime.timedelta(minutes=5)
#: object_store's own retries of 5xx, throttling and resets, before :class:`Unavailable`
#: hands the request to s3fs and :mod:`deid.storage.retry`.
RETRY_CONFIG = {
    "max_retries": 3,
    "retry_timeout": datetime.timedelta(seconds=30),
    "backoff": {
        "init_backoff": datetime.timedelta(milliseconds=100),
        "max_backoff": datetime.timedelta(seconds=5),
        "base": 2.0,
    },
}


class Unavailable(Exception):
    """The fast path cannot answer this request; do it through s3fs."""


_lock = threading.Lock()
#: Keyed by process, bucket and the environment a store was built from (endpoint, key id,
#: profile): a changed environment builds a new store, as s3fs's cache does.
_stores: dict[tuple[str | int | None, ...], Any] = {}
_refused: set[tuple[str | int | None, ...]] = set()


def _key(bucket: str) -> tuple[str | int | None, ...]:
    env = os.environ.get
    endpoint = env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL")
    return (os.getpid(), bucket, endpoint, env("AWS_ACCESS_KEY_ID"), env("AWS_PROFILE"))


def forget() -> None:
    """Drop every store (credentials or options changed under a running process)."""
    with _lock:
        _stores.clear()
        _refused.clear()


class _BotocoreCredentials:
    """obstore's credential provider protocol over botocore's chain."""

    def __init__(self) -> None:
        import botocore.session  # type: ignore[import-untyped]

        self._session = botocore.session.get_session()

    def __call__(self) -> dict[str, Any]:
        credentials = self._session.get_credentials()
        if credentials is None:
            raise PermissionError("no AWS credentials found")
        frozen = credentials.get_frozen_credentials()
        expires = datetime.datetime.now(datetime.timezone.utc) + CREDENTIAL_REFRESH
        answer: dict[str, Any] = {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "expires_at": expires,
        }
        if frozen.token:
            answer["token"] = frozen.token
        return answer

    @property
    def region(self) -> str:
        return self._session.get_config_variable("region") or "us-east-1"


def _store_for(bucket: str) -> Any:
    """This process's obstore store for ``bucket``; :class:`Unavailable` when there is
    none to be had (package missing, options given, turned off, refused before)."""
    if os.environ.get(DISABLE_ENV) or _s3_options_given():
        raise Unavailable(bucket)
    key = _key(bucket)
    with _lock:
        store = _stores.get(key)
        if store is not None:
            return store
        if key in _refused:
            raise Unavailable(bucket)
        try:
            from obstore.store import S3Store
        except ImportError:
            _refused.add(key)
            raise Unavailable(bucket) from None
        provider = _BotocoreCredentials()
        config: dict[str, Any] = {"region": provider.region}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        client_options: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
            client_options["allow_http"] = endpoint.startswith("http://")
        try:
            # Plain dicts for obstore's TypedDicts (and our provider for its protocol).
            settings: dict[str, Any] = {
                "config": config,
                "client_options": client_options,
                "retry_config": RETRY_CONFIG,
                "credential_provider": provider,
            }
            store = S3Store(bucket, **settings)
        except Exception:
            _refused.add(key)
            raise Unavailable(bucket) from None
        _stores[key] = store
        return store


def _s3_options_given() -> bool:
    return bool(protocol_options("s3"))


def _refuse(bucket: str) -> None:
    with _lock:
        _refused.add(_key(bucket))
        _stores.pop(_key(bucket), None)


def _mapped(error: Exception, bucket: str, key: str) -> Exception:
    """The object's own fate as the exceptions s3fs raises; anything else: Unavailable."""
    from obstore import exceptions as ob

    # obstore raises some of these as Python's own exceptions, some as its own classes.
    if isinstance(error, (FileNotFoundError, FileExistsError, PermissionError)):
        return error
    if isinstance(error, ob.NotFoundError):
        return FileNotFoundError(f"{bucket}/{key}")
    if isinstance(error, (ob.AlreadyExistsError, ob.PreconditionError)):
        return FileExistsError(f"{bucket}/{key}")
    if isinstance(error, (ob.PermissionDeniedError, ob.UnauthenticatedError)):
        return PermissionError(f"access denied: {bucket}/{key}")
    # A busy store (still failing after object_store's own retries) is this request's
    # problem only: s3fs retries it, and the next request tries the fast path again.
    if not is_transient(error):
        _refuse(bucket)
    return Unavailable(f"{bucket}/{key}")


def get(bucket: str, key: str) -> bytes:
    """The whole object (one GET)."""
    import obstore

    store = _store_for(bucket)
    try:
        return bytes(obstore.get(store, key).bytes())
    except Exception as error:
        raise _mapped(error, bucket, key) from None


def put(bucket: str, key: str, data: bytes, create: bool) -> None:
    """One PUT of ``data``; with ``create`` a conditional one (``If-None-Match: *``) that
    raises ``FileExistsError`` when the key exists."""
    import obstore

    store = _store_for(bucket)
    try:
        # One PUT, never multipart: the object appears whole or not at all (above 5 GB
        # S3 refuses a single PUT; s3fs then does the multipart upload).
        obstore.put(store, key, data, mode="create" if create else "overwrite", use_multipart=False)
    except Exception as error:
        raise _mapped(error, bucket, key) from None
