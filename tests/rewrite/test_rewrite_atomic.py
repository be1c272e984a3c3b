"""deid.atomic: the one atomic write every writer of deid uses."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from deid import atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_replace_writes_the_whole_file_with_its_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.dcm"
    target.write_bytes(b"old")
    atomic.write_bytes(target, b"new bytes", 0o644, fsync=True)
    assert target.read_bytes() == b"new bytes"
    assert _mode(target) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dcm"]


def test_exclusive_never_overwrites(tmp_path):
    target = tmp_path / "key"
    atomic.write_bytes(target, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        atomic.write_bytes(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert _mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_a_failure_inside_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as temp:
        temp.write_text("half")
        assert _mode(temp) == 0o600  # never readable by others while incomplete
        raise RuntimeError("killed mid-way")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_written_by_name_as_pyarrow_does(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = tmp_path / "part-000000.parquet"
    with atomic.atomic_path(target) as temp:
        pq.write_table(pa.table({"a": [1, 2]}), temp)
    assert pq.read_table(target).column("a").to_pylist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_without_hard_links_exclusive_still_refuses_an_existing_file(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "out.dcm"
    atomic.write_bytes(target, b"first", exclusive=True)
    assert target.read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        atomic.write_bytes(target, b"second", exclusive=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dcm"]


def test_the_temporary_carries_the_callers_suffix(tmp_path):
    seen = []
    with atomic.atomic_path(tmp_path / "x.dcm", suffix=".deid-tmp") as temp:
        seen.append(temp.name)
    assert seen[0].startswith(".x.dcm.") and seen[0].endswith(".deid-tmp")


def test_umask_true_honours_the_umask_and_exact_mode_ignores_it(tmp_path):
    old = os.umask(0o027)
    try:
        atomic.write_bytes(tmp_path / "out.dcm", b"x", 0o644, exclusive=True, umask=True)
        atomic.write_bytes(tmp_path / "part", b"x", 0o644)
        with atomic.atomic_path(tmp_path / "page.html", 0o644, umask=True) as temp:
            temp.write_text("<html>")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out.dcm") == 0o640  # the user's umask decides who reads outputs
    assert _mode(tmp_path / "page.html") == 0o640
    assert _mode(tmp_path / "part") == 0o644  # exact: the ledger's modes are a rule


def test_a_write_that_fails_midway_leaves_no_name_and_no_temporary(tmp_path, monkeypatch):
    """The no-partial-file guarantee of every output: the name appears only with all bytes."""

    class Failing:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[:3])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Failing(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError, match="No space"):
        atomic.write_bytes(tmp_path / "out.dcm", b"0123456789", 0o644, umask=True)
    assert list(tmp_path.iterdir()) == []
