"""The storage package's parts on their own: URL parsing, retry, listing order, atomic and
exclusive writes, reading a vanished object, secrets scrubbed."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from deid.errors import UserError
from deid.reading import SkipFile, read_input
from deid.storage import filesystems
from deid.storage.listing import list_objects
from deid.storage.locations import inside, is_url, parse_location
from deid.storage.objects import write_unique
from deid.storage.prefetch import Prefetcher
from deid.storage.remote import RemotePath, location
from deid.storage.retry import is_transient, retrying


def test_parse_locations():
    assert parse_location("s3://bucket/a/b/").url == "s3://bucket/a/b"
    assert parse_location("s3://bucket").key == ""
    assert parse_location("gs://bucket/x").protocol == "gcs"
    assert parse_location("az://container/x").protocol == "abfs"
    assert parse_location("file:///tmp/x").path == "/tmp/x"
    assert parse_location("relative/x").path == str(Path("relative/x").resolve())
    assert location("file:///tmp/x") == Path("/tmp/x")
    assert isinstance(location("s3://bucket/x"), RemotePath)
    assert is_url("s3://b/x") and not is_url("/tmp/x") and not is_url("file:///x")
    for bad in ("s3:/b/x", "s3://", "ftp://host/x", "file://host/x", "dicomweb://x"):
        with pytest.raises(UserError):
            parse_location(bad)


def test_inside_compares_whole_components():
    assert inside("s3://b/out/ledger", "s3://b/out")
    assert inside("s3://b/out", "s3://b/out/")
    assert not inside("s3://b/output", "s3://b/out")


def test_remote_path_names():
    path = RemotePath("s3://bucket/a/b/part-000001.parquet")
    assert path.name == "part-000001.parquet" and path.suffix == ".parquet"
    assert path.parent == RemotePath("s3://bucket/a/b")
    assert path.relative_to("s3://bucket/a") == "b/part-000001.parquet"
    assert RemotePath("s3://bucket/a") / "files" == RemotePath("s3://bucket/a/files")
    assert [str(p) for p in path.parents] == ["s3://bucket/a/b", "s3://bucket/a", "s3://bucket"]


def test_retry_backs_off_on_transient_errors_only():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError(errno.EBUSY, "Please reduce your request rate.")
        return "ok"

    assert retrying(flaky, sleep=lambda s: None) == "ok" and len(calls) == 3
    assert is_transient(ConnectionResetError())
    assert not is_transient(FileNotFoundError("gone"))
    assert not is_transient(PermissionError("denied"))
    with pytest.raises(FileNotFoundError):
        retrying(lambda: (_ for _ in ()).throw(FileNotFoundError("x")), sleep=lambda s: None)


def test_storage_options_are_scrubbed():
    filesystems.configure({"secret": "hunter2-very-secret"})
    try:
        assert "hunter2" not in filesystems.scrub("failed with hunter2-very-secret inside")
    finally:
        filesystems.configure({})
    with pytest.raises(UserError):
        filesystems.parse_storage_options("[1]")
    with pytest.raises(UserError):
        filesystems.parse_storage_options("{not json")


def test_listing_is_sorted_and_skips_folder_markers(s3):
    bucket = s3.bucket("list")
    base = bucket.removeprefix("s3://")
    for key in ("b/2", "a/1", "b/10", "a/"):
        s3.fs.pipe_file(f"{base}/{key}", b"" if key.endswith("/") else b"x")
    found = list_objects(bucket)
    assert found == sorted(found)
    assert found == [f"{bucket}/a/1", f"{bucket}/b/10", f"{bucket}/b/2"]
    assert list_objects(f"{bucket}/b", prune=[f"{bucket}/b/1"]) == [
        f"{bucket}/b/10",
        f"{bucket}/b/2",
    ]


def test_write_unique_never_overwrites(s3):
    bucket = s3.bucket("unique")
    target = RemotePath(f"{bucket}/x/out.dcm")
    assert write_unique(target, b"first") is True
    assert write_unique(target, b"first") is True  # the same bytes: an earlier attempt
    assert write_unique(target, b"other") is False  # a duplicate name
    assert target.read_bytes() == b"first"


def test_vanished_object_is_skipped_with_reason(s3):
    bucket = s3.bucket("vanish")
    url = f"{bucket}/gone"
    with pytest.raises(SkipFile, match="missing or was deleted"):
        read_input(url)
    s3.fs.pipe_file(url.removeprefix("s3://"), b"")
    with pytest.raises(SkipFile, match="empty file"):
        read_input(url)
    prefetch = Prefetcher()
    try:
        prefetch.want(f"{bucket}/also-gone")
        with pytest.raises(SkipFile, match="missing"):
            read_input(f"{bucket}/also-gone", prefetch)
    finally:
        prefetch.close()
