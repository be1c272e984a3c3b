"""Turn the user's INPUT arguments (files, folders, a manifest) into the sorted path list.

Every file counts: nothing is skipped by name or extension, so a file the pipeline cannot
use still ends in the ledger as quarantined, with its reason. Folders are walked by
:func:`deid.folders.walk` following symlinks, but each real folder is entered once (by
device and inode), so a symlink loop ends the walk instead of hanging it. The output and ledger
folders are pruned in case they lie under an input. Paths are absolute (not resolved:
the ledger records the path the user gave) and sorted, which makes the partition plan
deterministic.

A folder that cannot be listed (no permission, an I/O error) is not skipped: its own path
joins the list, so the worker quarantines it with the reason and the ledger accounts for
the files nobody could see; the run then exits 1. A named input folder that cannot be
listed, or an input that holds no file at all, is a usage error (one line, exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from deid.errors import UserError
from deid.folders import walk


def walk_files(root: str, prune: Iterable[str] = ()) -> Iterator[str]:
    """Every non-directory entry under ``root`` (regular files, FIFOs, dangling symlinks...),
    and every folder below it that cannot be listed (see the module docstring).

    The walk is :func:`deid.folders.walk` (iterative; linked folders followed, each real
    folder once). ``root`` itself that cannot be listed is a :class:`UserError`.
    """
    for entry in walk(root, follow_symlinks=True, prune=prune):
        if entry.error is not None and entry.path == root:
            raise UserError(f"cannot list the input {root}: {entry.error.strerror}") from None
        yield entry.path  # a folder nobody can list too: the worker records why (read_input)


def read_manifest(path: str) -> list[str]:
    """Paths from a manifest: Parquet with a ``path`` column, else text, one path a line.

    The manifest itself may be an object (``--manifest s3://...``): it is read whole (it
    holds paths, not images), then parsed exactly as a local one."""
    from deid.storage.locations import is_url

    if is_url(path):
        return _remote_manifest(path)
    manifest = Path(path)
    if manifest.is_dir():
        raise UserError(f"manifest {path} is a folder; give it as an INPUT instead")
    if not manifest.is_file():
        raise UserError(f"manifest not found: {path}")
    try:
        with manifest.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise UserError(f"cannot read manifest {path}: {error.strerror}") from None
    if magic == b"PAR1":
        return _parquet_paths(manifest, path)
    try:
        with manifest.open(encoding="utf-8") as handle:
            return [line.rstrip("\r\n") for line in handle if line.strip()]
    except UnicodeDecodeError:
        raise UserError(f"manifest {path}: neither Parquet nor UTF-8 text") from None


def _remote_manifest(url: str) -> list[str]:
    import io

    from deid.storage.checks import storage_user_error
    from deid.storage.remote import RemotePath

    remote = RemotePath(url)
    try:
        data = remote.read_bytes()
    except FileNotFoundError:
        raise UserError(f"manifest not found: {url}") from None
    except Exception as error:
        raise storage_user_error(error, f"cannot read manifest {url}", remote) from None
    if data[:4] == b"PAR1":
        return _parquet_paths(io.BytesIO(data), url)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"manifest {url}: neither Parquet nor UTF-8 text") from None
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _parquet_paths(manifest, given: str) -> list[str]:
    """The non-empty values of the ``path`` column (strings); anything else is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(manifest).names
    except (pa.ArrowException, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"manifest {given}: unreadable Parquet ({reason})") from None
    if "path" not in names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise UserError(
            f"manifest {given}: needs a 'path' column (it has: {shown or 'no columns'})"
        )
    try:
        column = pq.read_table(manifest, columns=["path"]).column("path")
    except (pa.ArrowException, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"manifest {given}: unreadable Parquet ({reason})") from None
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise UserError(f"manifest {given}: the 'path' column holds {column.type}, not text")
    return [p for p in column.to_pylist() if p and p.strip()]


def collect_inputs(
    inputs: Iterable[str], manifest: str | None = None, prune: Iterable[str] = ()
) -> list[str]:
    """The sorted, de-duplicated absolute paths of every input file.

    A named input that does not exist is a user error (nothing processed); a manifest entry
    that does not exist is an input like any other and is quarantined by the worker.
    """
    from deid.storage.locations import is_url, parse_location

    prune = [str(p) for p in prune]
    found: set[str] = set()
    for item in inputs:
        # The dispatch point for URL inputs (storage here; other kinds beside it).
        if is_url(item) or "://" in item or item.lower().startswith("file:"):
            parsed = parse_location(item, "INPUT")
            if parsed.is_remote:
                found.update(_remote_inputs(parsed.url, prune))
                continue
            item = parsed.path
        absolute = os.path.abspath(item)
        if os.path.isdir(absolute):
            under = set(walk_files(absolute, prune))
            found.update(under)
            if not under:
                raise UserError(f"the input folder {item} holds no files")
        elif os.path.lexists(absolute):
            found.add(absolute)
        else:
            raise UserError(f"input not found: {item}")
    if manifest:
        listed = read_manifest(manifest)
        if not listed:
            raise UserError(f"the manifest {manifest} lists no paths")
        found.update(_manifest_entry(p) for p in listed)
    return sorted(found)


def _remote_inputs(url: str, prune: list[str]) -> list[str]:
    """Every object under ``url`` (the client lists names only, never contents)."""
    from deid.storage.listing import list_objects

    urls = list_objects(url, [p for p in prune if "://" in p])
    if not urls:
        raise UserError(f"input not found: no object at or below {url}")
    return urls


def _manifest_entry(entry: str) -> str:
    """A manifest's path as the run lists it: URLs as written (a malformed one is
    quarantined by the worker like a missing file), paths made absolute."""
    from deid.storage.locations import is_url, parse_location

    if is_url(entry):
        return entry
    if entry.lower().startswith("file://"):
        try:
            return parse_location(entry).path
        except UserError:
            return entry
    return os.path.abspath(entry)
