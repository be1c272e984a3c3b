"""The per-file GET and PUT through obstore (deid/storage/s3objects.py), against the real
moto server: it is the path taken when nothing turns it off, it answers each object's fate
as s3fs does, and every way it can be unavailable falls back to s3fs with the same result."""

from __future__ import annotations

import pytest

from deid.storage import filesystems, s3objects
from deid.storage.objects import ObjectUnreadable, read_object, write_unique
from deid.storage.remote import RemotePath, write_atomic

pytest.importorskip("obstore")


@pytest.fixture
def s3fs_refuses(monkeypatch):
    """Make every s3fs object read or write fail: what still works went through obstore."""

    def refuse(*args, **kwargs):
        raise AssertionError("s3fs was asked for an object")

    fs = filesystems.filesystem("s3")
    monkeypatch.setattr(fs, "cat_file", refuse)
    monkeypatch.setattr(fs, "pipe_file", refuse)
    return fs


def test_objects_go_through_obstore_by_default(s3, s3fs_refuses):
    bucket = s3.bucket("fast")
    target = RemotePath(f"{bucket}/a/out.dcm")
    assert write_unique(target, b"first") is True
    assert write_unique(target, b"first") is True  # the rerun's own bytes
    assert write_unique(target, b"other") is False  # a duplicate name, never overwritten
    assert target.read_bytes() == b"first"
    write_atomic(RemotePath(f"{bucket}/run.json"), b"{}")
    assert read_object(f"{bucket}/run.json") == b"{}"
    assert s3.fs.cat_file(f"{bucket.removeprefix('s3://')}/a/out.dcm") == b"first"


def test_a_missing_object_is_the_objects_fate(s3, s3fs_refuses):
    bucket = s3.bucket("fates")
    with pytest.raises(ObjectUnreadable, match="missing or was deleted"):
        read_object(f"{bucket}/gone")


@pytest.mark.parametrize("how", ["env", "storage-options"])
def test_fallback_to_s3fs_gives_the_same_answers(s3, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv(s3objects.DISABLE_ENV, "1")
    else:
        filesystems.configure({"s3": {"config_kwargs": {"connect_timeout": 20}}})
    asked = []

    def refuse_fast(*args, **kwargs):
        asked.append(args)
        raise AssertionError("obstore was used")

    monkeypatch.setattr("obstore.get", refuse_fast)
    monkeypatch.setattr("obstore.put", refuse_fast)
    bucket = s3.bucket(f"slow-{how}")
    target = RemotePath(f"{bucket}/b/out.dcm")
    assert write_unique(target, b"first") is True
    assert write_unique(target, b"other") is False
    assert target.read_bytes() == b"first"
    with pytest.raises(ObjectUnreadable, match="missing or was deleted"):
        read_object(f"{bucket}/gone")
    assert asked == []


def test_a_store_that_cannot_answer_hands_over_to_s3fs(s3, monkeypatch):
    """A request obstore cannot make (here: a failure it has no mapping for) is made by
    s3fs instead, and the bucket stays with s3fs for the rest of the process."""
    from obstore.exceptions import GenericError

    calls = []

    def generic(*args, **kwargs):
        calls.append(args)
        raise GenericError("301 PermanentRedirect: the bucket is in another region")

    monkeypatch.setattr("obstore.get", generic)
    bucket = s3.bucket("redirect")
    s3.fs.pipe_file(f"{bucket.removeprefix('s3://')}/x", b"bytes")
    assert RemotePath(f"{bucket}/x").read_bytes() == b"bytes"
    assert RemotePath(f"{bucket}/x").read_bytes() == b"bytes"
    assert len(calls) == 1  # refused once, then s3fs only


def test_a_busy_store_falls_back_for_that_request_only(s3, monkeypatch):
    """Still 503 after object_store's own retries: s3fs (with deid's retries) makes that
    request, and the next one tries the fast path again."""
    from obstore.exceptions import GenericError

    calls = []

    def busy(*args, **kwargs):
        calls.append(args)
        raise GenericError("503 Service Unavailable: Please reduce your request rate (SlowDown)")

    monkeypatch.setattr("obstore.get", busy)
    bucket = s3.bucket("busy")
    s3.fs.pipe_file(f"{bucket.removeprefix('s3://')}/x", b"bytes")
    assert RemotePath(f"{bucket}/x").read_bytes() == b"bytes"
    assert RemotePath(f"{bucket}/x").read_bytes() == b"bytes"
    assert len(calls) == 2
