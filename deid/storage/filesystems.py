"""The fsspec filesystem for a URL, with credentials the way each ecosystem expects.

S3 (s3fs): the AWS environment variables, profiles (``AWS_PROFILE``), instance and pod
roles, all through botocore's own chain, and ``AWS_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL_S3``) for S3-compatible servers such as MinIO, Ceph or moto. GCS (gcsfs)
and Azure (adlfs) use theirs. ``--storage-options`` JSON is handed to the filesystem as
keyword arguments for anything else (``{"anon": true}``, ``{"profile": "lab"}``, ...).

Why the options live in this module and nowhere else: they may hold secrets. They travel to
workers inside the run's setup (pickled over Dask's connection, never to disk), are set here
with :func:`configure`, and :func:`scrub` removes their values from any message before it is
shown, so a secret never reaches the terminal, a log, run.json or the ledger.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any

from deid.errors import UserError
from deid.storage.locations import SCHEMES

_options: dict[str, Any] = {}
_lock = threading.Lock()
#: botocore's own retries (standard mode: throttling, 5xx, connection errors), under
#: :mod:`deid.storage.retry`'s, which also covers what botocore hands up.
BOTO_RETRIES = {"max_attempts": 3, "mode": "standard"}
#: s3fs's own retry loop (it sleeps up to 15 s a try): kept short, ours does the rest.
S3FS_RETRIES = 2


def parse_storage_options(text: str | None) -> dict[str, Any]:
    """``--storage-options`` JSON (an object) as a dict; anything else is one line."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"--storage-options: not JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise UserError("--storage-options: give a JSON object, e.g. '{\"anon\": true}'")
    return value


#: Environment variables the stores' credential chains read.
ENV_PREFIXES = ("AWS_", "GOOGLE_", "GCLOUD_", "AZURE_")


def credential_env() -> dict[str, str]:
    """This process's credential variables, for the workers of a *local* cluster: they are
    forked from a server process started earlier (the forkserver), whose environment may
    predate the client's; an external cluster's workers keep their own."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


def configure(options: dict[str, Any] | None, env: dict[str, str] | None = None) -> None:
    """The storage options of this process (the client's, or a worker's from the setup),
    and for a local cluster's worker the client's credential variables."""
    global _options
    with _lock:
        changed = (options or {}) != _options
        for name, value in (env or {}).items():
            if os.environ.get(name) != value:
                os.environ[name] = value
                changed = True
        if changed:
            _options = dict(options or {})
            _filesystem_cache.clear()


def current_options() -> dict[str, Any]:
    return dict(_options)


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _secret_strings(v)]
    if isinstance(value, str) and len(value) >= 4:
        return [value]
    return []


def scrub(text: str) -> str:
    """``text`` with every storage-option value and AWS secret blanked out."""
    secrets = _secret_strings(_options)
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"):
        value = os.environ.get(name)
        if value and len(value) >= 4:
            secrets.append(value)
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def protocol_options(protocol: str) -> dict[str, Any]:
    """The options for ``protocol``: a flat object applies to every protocol, an object
    keyed by scheme (``{"s3": {...}, "gs": {...}}``) to each its own."""
    keyed = {k: v for k, v in _options.items() if k in SCHEMES and isinstance(v, dict)}
    if not keyed:
        return dict(_options)
    merged: dict[str, Any] = {}
    for scheme, value in keyed.items():
        if SCHEMES[scheme][0] == protocol:
            merged.update(value)
    return merged


def _s3_defaults(options: dict[str, Any]) -> dict[str, Any]:
    # Listings are never cached: workers write parts the client must see at once.
    defaults: dict[str, Any] = {"use_listings_cache": False}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    client_kwargs = dict(options.get("client_kwargs") or {})
    if endpoint and "endpoint_url" not in options and "endpoint_url" not in client_kwargs:
        client_kwargs["endpoint_url"] = endpoint
    if client_kwargs:
        defaults["client_kwargs"] = client_kwargs
    config = dict(options.get("config_kwargs") or {})
    config.setdefault("retries", BOTO_RETRIES)
    defaults["config_kwargs"] = config
    return defaults


_filesystem_cache: dict[str, Any] = {}
#: Set by a run with object locations before its local cluster starts: the workers and their
#: per-file children inherit it and import the filesystem package while the cluster is
#: still coming up, instead of at their first object (s3fs and aiobotocore: about 0.5 s).
PRELOAD_ENV = "DEID_STORAGE_PRELOAD"


def announce(protocols: set[str]) -> None:
    """Ask the processes this one starts to preload ``protocols``' packages."""
    if protocols:
        os.environ[PRELOAD_ENV] = ",".join(sorted(protocols))


def preload() -> None:
    """Import what :data:`PRELOAD_ENV` names (errors are left to the first real use)."""
    import importlib

    for protocol in filter(None, os.environ.get(PRELOAD_ENV, "").split(",")):
        module = {"s3": "s3fs", "gcs": "gcsfs", "abfs": "adlfs"}.get(protocol)
        if not module:
            continue
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
        if protocol == "s3":
            # The client too (botocore parses S3's service model: another half second);
            # kept when the run's storage options turn out to be the environment's alone.
            with contextlib.suppress(Exception):
                filesystem("s3").connect()


def filesystem(protocol: str):
    """The fsspec filesystem for ``protocol`` ("s3", "gcs", "abfs"), one per process."""
    with _lock:
        cached = _filesystem_cache.get(protocol)
        if cached is not None:
            return cached
        options = protocol_options(protocol)
        if protocol == "s3":
            options = {**options, **_s3_defaults(options)}
        try:
            import fsspec

            # Our own cache (above) decides reuse: fsspec's would keep credentials that the
            # environment no longer holds.
            fs = fsspec.filesystem(protocol, skip_instance_cache=True, **options)
        except ImportError as error:
            extra = next((e for p, e in SCHEMES.values() if p == protocol), protocol)
            raise UserError(
                f"{protocol} storage needs an extra package ({error.name or error}); "
                f"install deid-pipeline[{extra}]"
            ) from None
        except (TypeError, ValueError) as error:
            raise UserError(f"--storage-options for {protocol}: {scrub(str(error))}") from None
        if protocol == "s3" and hasattr(fs, "retries"):
            fs.retries = S3FS_RETRIES
        _filesystem_cache[protocol] = fs
        return fs
