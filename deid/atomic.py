"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

One implementation for every writer of deid (outputs, the ledger's parts and run.json, the
key, the review page, pixel previews), so they share the rules that make it safe:

* the bytes go to a hidden temporary file in the *same folder* (a rename or link across
  folders could cross file systems and would not be atomic), created exclusively and
  owner-only (0o600), so a half-written file is never readable by others;
* the final mode is exact (``mode``, whatever the umask: the ledger and the key are
  owner-only by rule), or with ``umask=True`` it is ``mode`` less the process's umask, as
  for any file a program creates (the de-identified outputs: the user's umask says who may
  read them). Such a temporary is created with that mode at once (the kernel applies the
  umask; reading the umask would mean setting it, which races with other threads);
* on success the temporary takes its final mode and moves into place: :func:`os.replace`
  (overwrite), or with ``exclusive=True`` a hard link that fails with
  :class:`FileExistsError` when the target exists (create-only: of two writers racing,
  exactly one wins, and the loser can read the winner's whole file);
* on any failure, and after a link, the temporary is removed; a writer killed mid-way
  leaves only a hidden ``.NAME.XXXX<suffix>`` that its owner sweeps by the suffix.

This module imports nothing of deid's: it sits in the bottom layer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

#: The default suffix of temporaries (callers that sweep their own leftovers pass theirs).
TEMP_SUFFIX = ".tmp"
#: Errors of file systems without hard links: create-only falls back to check-then-rename.
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK)


def temp_beside(path: Path, suffix: str = TEMP_SUFFIX) -> Path:
    """A fresh hidden name in ``path``'s folder for a temporary of ``path``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")


def _place(temp: Path, path: Path, exclusive: bool) -> None:
    if not exclusive:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except OSError as error:
        if isinstance(error, FileExistsError) or error.errno not in _NO_LINKS:
            raise
        # No hard links here: check-then-rename (a narrow race; callers that must be sure,
        # such as the duplicate resolver, re-check the contested names).
        if path.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(temp, path)


def _create(path: Path, mode: int, umask: bool, suffix: str) -> tuple[Path, int]:
    """A fresh temporary beside ``path`` and its open descriptor (write-only)."""
    temp = temp_beside(path, suffix)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode if umask else 0o600)
    return temp, fd


def _finish(temp: Path, path: Path, mode: int, umask: bool, exclusive: bool) -> None:
    if not umask and mode != 0o600:
        os.chmod(temp, mode)
    _place(temp, path, exclusive)


@contextlib.contextmanager
def atomic_path(
    path: Path | str,
    mode: int = 0o600,
    *,
    exclusive: bool = False,
    umask: bool = False,
    suffix: str = TEMP_SUFFIX,
) -> Iterator[Path]:
    """A new empty temporary beside ``path`` for the caller to write (by name, e.g. pyarrow,
    or by opening it); when the block ends without an exception it becomes ``path`` (see
    the module docstring), else it is removed. The folder must exist."""
    path = Path(path)
    temp, fd = _create(path, mode, umask, suffix)
    os.close(fd)
    try:
        yield temp
        _finish(temp, path, mode, umask, exclusive)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def write_bytes(
    path: Path | str,
    data: bytes,
    mode: int = 0o600,
    *,
    exclusive: bool = False,
    umask: bool = False,
    fsync: bool = False,
    suffix: str = TEMP_SUFFIX,
) -> None:
    """Write ``data`` at ``path`` atomically (see the module docstring); ``fsync``: flush
    the bytes to the disk before they take the name, so a crash cannot leave the name on
    an empty file. :class:`FileExistsError` with ``exclusive`` when ``path`` exists.

    The temporary is opened once and written through that descriptor (this is every
    output's write, so it costs no second ``open``)."""
    path = Path(path)
    temp, fd = _create(path, mode, umask, suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        _finish(temp, path, mode, umask, exclusive)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


__all__ = ["TEMP_SUFFIX", "atomic_path", "temp_beside", "write_bytes"]
