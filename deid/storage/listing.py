"""Every object under a prefix, in a deterministic (sorted) order.

Why sorted URLs: the partition plan is cut from the sorted input list, so the same bucket
listed twice must give the same plan (a resumed run recognises its finished partitions by
their content hash). Object stores list in key order already; sorting the URLs makes it a
property of deid, not of the store. "Folder" marker objects (keys ending in ``/``, zero
bytes) are skipped: they are the console's way of drawing a folder, not files.
"""

from __future__ import annotations

from collections.abc import Iterable

from deid.errors import UserError
from deid.storage.checks import storage_user_error
from deid.storage.remote import RemotePath
from deid.storage.retry import retrying


def list_objects(url: str, prune: Iterable[str] = ()) -> list[str]:
    """The URLs of every object at or below ``url``; ``prune``: URL prefixes left out (the
    run's own output and ledger, should they lie under an input)."""
    from deid.storage.locations import inside

    root = RemotePath(url)
    fs = root.fs
    scheme = url.split("://", 1)[0].lower()
    try:
        if root.fs_path == root.bucket:
            found = retrying(lambda: fs.find(root.fs_path, detail=True))
        else:
            found = retrying(lambda: fs.find(root.fs_path, detail=True, withdirs=False))
    except Exception as error:
        raise storage_user_error(error, f"cannot list the input {url}", root) from None
    pruned = [p.rstrip("/") for p in prune]
    urls = []
    for name, info in found.items():
        if info.get("type") == "directory" or name.endswith("/"):
            continue
        object_url = f"{scheme}://{name}"
        if any(inside(object_url, p) for p in pruned):
            continue
        urls.append(object_url)
    if not urls and not found:
        # Nothing at all: a bucket that does not exist says so; an empty prefix is the
        # caller's "holds no files".
        try:
            retrying(lambda: fs.ls(root.bucket, detail=False))
        except Exception as error:
            raise storage_user_error(error, f"cannot list the input {url}", root) from None
    return sorted(urls)


def require_objects(url: str, prune: Iterable[str] = ()) -> list[str]:
    urls = list_objects(url, prune)
    if not urls:
        raise UserError(f"input not found: nothing at or below {url}")
    return urls
