"""A location on object storage with the few ``pathlib.Path`` operations the pipeline uses.

Why a Path look-alike instead of a second code path: the ledger, the output and the key
are handled by code written for folders (``ledger / "files"``, ``part.exists()``,
``iterdir()``, ``read_text()``); with this class the same code runs on a bucket, and the
local case keeps using ``Path`` itself, unchanged. Object storage has no folders: ``mkdir``
is a no-op, a "folder" exists when an object lies below it, and ``chmod`` does not apply
(the README says how to keep a ledger's bucket private instead).

Every call goes through :func:`deid.storage.retry.retrying`; writes are one PUT
(:mod:`deid.storage.objects`), so no reader ever sees half an object.
"""

from __future__ import annotations

import errno
import io
import os
import posixpath
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deid.storage import s3objects
from deid.storage.filesystems import filesystem, scrub
from deid.storage.locations import parse_location
from deid.storage.retry import retrying


@dataclass(frozen=True)
class _Stat:
    st_size: int
    #: Not a time: a number that changes when the object does (its ETag or modification
    #: time), which is all the callers (cache signatures) use it for.
    st_mtime_ns: int = 0


if TYPE_CHECKING:
    # For the type checker a RemotePath is a Path: the code that takes either (ledger,
    # output, key) uses only the operations both have, and that is what this class is for.
    _PathLike = Path
else:
    _PathLike = object


class RemotePath(_PathLike):
    """``scheme://bucket/key`` on an fsspec filesystem."""

    __slots__ = ("_loc",)

    def __init__(self, url: str) -> None:
        self._loc = parse_location(url)

    # -- identity --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._loc.url

    @property
    def protocol(self) -> str:
        return self._loc.protocol

    @property
    def fs_path(self) -> str:
        """The path as the filesystem names it (``bucket/key``)."""
        return self._loc.path

    @property
    def bucket(self) -> str:
        return self._loc.bucket

    @property
    def key(self) -> str:
        """The object's key in its bucket (no leading slash)."""
        return self._loc.key

    @property
    def fs(self) -> Any:
        return filesystem(self._loc.protocol)

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __reduce__(self):
        return (RemotePath, (self.url,))

    # -- names -----------------------------------------------------------------------------
    def __truediv__(self, part: str) -> RemotePath:
        part = str(part).strip("/")
        return RemotePath(f"{self.url.rstrip('/')}/{part}") if part else self

    @property
    def name(self) -> str:
        return posixpath.basename(self._loc.key)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    @property
    def parent(self) -> RemotePath:
        key = posixpath.dirname(self._loc.key)
        return RemotePath(f"{self._loc.scheme}://{self._loc.bucket}" + (f"/{key}" if key else ""))

    @property
    def parents(self) -> list[RemotePath]:
        found, current = [], self
        while current._loc.key:
            current = current.parent
            found.append(current)
        return found

    def with_name(self, name: str) -> RemotePath:
        return self.parent / name

    def relative_to(self, other: RemotePath | str) -> str:
        base = str(other).rstrip("/") + "/"
        if not self.url.startswith(base):
            raise ValueError(f"{self.url} is not below {other}")
        return self.url[len(base) :]

    # -- queries ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return retrying(lambda: self.fs.exists(self.fs_path))

    def is_file(self) -> bool:
        return retrying(lambda: self.fs.isfile(self.fs_path))

    def is_dir(self) -> bool:
        if not self._loc.key:
            return self.exists()
        return retrying(lambda: self.fs.isdir(self.fs_path))

    def stat(self) -> _Stat:
        info = retrying(lambda: self.fs.info(self.fs_path))
        changed = info.get("ETag") or info.get("LastModified") or info.get("mtime") or ""
        return _Stat(int(info.get("size") or 0), zlib.crc32(str(changed).encode()))

    def iterdir(self) -> Iterator[RemotePath]:
        """The objects and "folders" directly below, sorted (none when there are none)."""
        try:
            names = retrying(lambda: self.fs.ls(self.fs_path, detail=False))
        except FileNotFoundError:
            return iter(())
        base = self.fs_path.rstrip("/")
        scheme = self._loc.scheme
        children = sorted(
            RemotePath(f"{scheme}://{name.rstrip('/')}")
            for name in names
            if name.rstrip("/") != base
        )
        return iter(children)

    def glob(self, pattern: str) -> Iterator[RemotePath]:
        found = retrying(lambda: self.fs.glob(f"{self.fs_path.rstrip('/')}/{pattern}"))
        return iter(sorted(RemotePath(f"{self._loc.scheme}://{name}") for name in found))

    # -- contents --------------------------------------------------------------------------
    def read_bytes(self) -> bytes:
        if self.protocol == "s3":
            try:
                return s3objects.get(self.bucket, self.key)
            except s3objects.Unavailable:
                pass
            # One GET: with concurrency s3fs first asks the size (a HEAD per object), which
            # only pays off for objects far larger than DICOM files usually are.
            return retrying(lambda: self.fs.cat_file(self.fs_path, max_concurrency=1))
        return retrying(lambda: self.fs.cat_file(self.fs_path))

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        write_atomic(self, data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def open(self, mode: str = "rb"):
        if "r" in mode:
            data = self.read_bytes()
            return io.BytesIO(data) if "b" in mode else io.StringIO(data.decode("utf-8"))
        raise ValueError("write a RemotePath with write_bytes (one atomic PUT)")

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            retrying(lambda: self.fs.rm_file(self.fs_path))
        except FileNotFoundError:
            if not missing_ok:
                raise

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Object storage has no folders: a prefix exists once an object lies below it."""
        return None


#: A local folder or file, or a location on object storage: what the ledger, output and key
#: code take (both offer the same few path operations).
Where = Path | RemotePath


def location(text: str | os.PathLike, what: str = "location") -> Path | RemotePath:
    """A ``Path`` (absolute) for a local location, a :class:`RemotePath` for a URL.

    The one dispatch point every command and worker uses to open a location: other kinds of
    URL (PACS) are refused by :func:`parse_location` and handled before reaching here.
    """
    if isinstance(text, RemotePath):
        return text
    if isinstance(text, Path):
        return text
    parsed = parse_location(os.fspath(text), what)
    if not parsed.is_remote:
        return Path(parsed.path)
    return RemotePath(parsed.url)


def short_reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    text = scrub(f"{type(error).__name__}: {text}")
    return text if len(text) <= 160 else text[:159] + "…"


def destination_error(error: BaseException, where: RemotePath) -> OSError:
    """A write failure as the pipeline's destination errors look (errno EIO/EROFS), so it
    stops the run instead of quarantining a file that is fine."""
    if isinstance(error, PermissionError):
        return OSError(errno.EROFS, f"access denied writing {where.bucket}")
    if isinstance(error, FileNotFoundError):
        return OSError(errno.EIO, f"the bucket {where.bucket} does not exist")
    return OSError(errno.EIO, short_reason(error))


def write_atomic(path: RemotePath, data: bytes) -> None:
    """Put ``data`` at ``path`` (replacing what is there) in one visible step."""
    try:
        if path.protocol == "s3":
            try:
                s3objects.put(path.bucket, path.key, data, create=False)
                return
            except s3objects.Unavailable:
                pass
        retrying(lambda: path.fs.pipe_file(path.fs_path, data))
    except Exception as error:
        raise destination_error(error, path) from None
