"""Read an object, write one atomically: one PUT, or a multipart upload completed only
when whole, so no partial output is ever visible to anyone listing the bucket.

Why errors are translated here: a worker must tell the object's own fate (missing,
unreadable: the input is quarantined with that reason) from the store's (access denied,
bucket gone, the service down after every retry: the run stops with exit 3 and the rerun
redoes the partition, see :mod:`deid.pipeline.destination`).
"""

from __future__ import annotations

from deid.storage import s3objects
from deid.storage.remote import RemotePath, destination_error, short_reason
from deid.storage.retry import retrying


class ObjectUnreadable(Exception):
    """An input object that cannot be read; the message is the quarantine reason."""


def read_object(url: str | RemotePath) -> bytes:
    """The whole object; :class:`ObjectUnreadable` with a one-line reason when it cannot
    be read (deleted since the listing, access denied, the store failing after retries)."""
    from deid.errors import UserError

    try:
        path = url if isinstance(url, RemotePath) else RemotePath(url)
    except UserError as error:  # a malformed URL in a manifest: that input's own fate
        raise ObjectUnreadable(f"input not found: {str(error).split(': ', 1)[-1]}") from None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ObjectUnreadable("input not found: the object is missing or was deleted") from None
    except IsADirectoryError:
        raise ObjectUnreadable("not a regular file: a prefix, not an object") from None
    except PermissionError:
        raise ObjectUnreadable("input unreadable: access denied") from None
    except Exception as error:  # the store failed after every retry
        raise ObjectUnreadable(f"input unreadable: {short_reason(error)}") from None


def write_unique(path: RemotePath, data: bytes) -> bool:
    """Like :func:`deid.pipeline.per_file.write_unique` on a bucket: a conditional PUT
    (``If-None-Match: *``) that fails when the name exists. True when ``path`` now holds
    exactly ``data``; False when it holds other bytes (a duplicate SOP Instance UID)."""
    fs = path.fs
    if path.protocol == "s3":
        try:
            s3objects.put(path.bucket, path.key, data, create=True)
            return True
        except FileExistsError:
            return _holds(path, data)
        except s3objects.Unavailable:
            pass
        except Exception as error:
            raise destination_error(error, path) from None

    def put() -> bool:
        try:
            fs.pipe_file(path.fs_path, data, mode="create")
            return True
        except FileExistsError:
            return False
        except (TypeError, NotImplementedError):  # a filesystem without exclusive create
            if fs.exists(path.fs_path):
                return False
            fs.pipe_file(path.fs_path, data)
            return True

    try:
        return retrying(put) or _holds(path, data)
    except Exception as error:
        raise destination_error(error, path) from None


def _holds(path: RemotePath, data: bytes) -> bool:
    """Whether the object already at ``path`` is exactly ``data`` (a rerun's own output)."""
    try:
        return path.read_bytes() == data
    except Exception as error:
        raise destination_error(error, path) from None
