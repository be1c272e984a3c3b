"""deid.folders.walk: the one folder walker of the run's inputs, the temp sweep and verify."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pyarrow as pa
import pytest

from deid import folders
from deid.errors import UserError
from deid.pipeline.duplicates import sweep_temp_files
from deid.pipeline.inputs import walk_files
from deid.pipeline.per_file import TEMP_SUFFIX
from deid.verification.findings import Finding
from deid.verifyrun.invariants import orphan_outputs


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "one").write_bytes(b"1")
    (root / "a" / "deep" / "two").write_bytes(b"2")
    (root / "b" / "three").write_bytes(b"3")
    os.symlink(root, root / "b" / "loop")  # a link back to the top: a loop
    os.symlink(root / "a", root / "again")  # a second way into a
    os.symlink(root / "gone", root / "dangling")
    return root


def _names(entries, root: Path) -> list[str]:
    return sorted(os.path.relpath(e.path, root) for e in entries)


def _refuse(monkeypatch, folder: Path) -> None:
    """``folder`` cannot be listed, as for a user without permission (tests run as root)."""
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(folder):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_following_links_enters_each_real_folder_once(tree: Path) -> None:
    found = list(folders.walk(str(tree)))
    assert all(e.error is None for e in found)
    # the loop ended; "a" was entered once, by whichever of its two paths came first
    assert sorted(e.name for e in found) == ["dangling", "one", "three", "two"]


def test_without_following_a_link_is_an_entry(tree: Path) -> None:
    found = _names(folders.walk(str(tree), follow_symlinks=False), tree)
    assert found == ["a/deep/two", "a/one", "again", "b/loop", "b/three", "dangling"]


def test_prune_and_an_unlistable_folder_is_yielded_with_its_error(tree, monkeypatch) -> None:
    _refuse(monkeypatch, tree / "a" / "deep")
    found = list(folders.walk(str(tree), follow_symlinks=False, prune=[str(tree / "b")]))
    (refused,) = [e for e in found if e.error is not None]
    assert refused.path == str(tree / "a" / "deep") and isinstance(refused.error, PermissionError)
    assert _names((e for e in found if e.error is None), tree) == ["a/one", "again", "dangling"]


def test_the_run_lists_an_unlistable_folder_and_refuses_an_unlistable_root(
    tree, monkeypatch
) -> None:
    _refuse(monkeypatch, tree / "b")
    listed = set(walk_files(str(tree)))
    assert str(tree / "b") in listed  # quarantined by the worker with its reason
    _refuse(monkeypatch, tree)
    with pytest.raises(UserError, match="cannot list the input"):
        list(walk_files(str(tree)))


def test_deep_trees_do_not_recurse(tmp_path: Path) -> None:
    folder = tmp_path
    for _ in range(300):
        folder = folder / "d"
    folder.mkdir(parents=True)
    (folder / "leaf").write_bytes(b"x")
    assert [e.name for e in folders.walk(str(tmp_path))] == ["leaf"]


def test_the_sweep_removes_temporaries_only_and_never_follows_a_link(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "elsewhere"
    (out / "s").mkdir(parents=True)
    outside.mkdir()
    (out / "s" / f".x.dcm.abc{TEMP_SUFFIX}").write_bytes(b"half")
    (out / "s" / "x.dcm").write_bytes(b"whole")
    (outside / f".y.dcm.abc{TEMP_SUFFIX}").write_bytes(b"not ours")
    os.symlink(outside, out / "link")
    assert sweep_temp_files(out) == 1
    assert sorted(p.name for p in (out / "s").iterdir()) == ["x.dcm"]
    assert (outside / f".y.dcm.abc{TEMP_SUFFIX}").exists()


def test_verify_reports_a_folder_it_cannot_list(tmp_path: Path, monkeypatch) -> None:
    out, ledger = tmp_path / "out", tmp_path / "ledger"
    (out / "1" / "2").mkdir(parents=True)
    (out / "1" / "2" / "3.dcm").write_bytes(b"x")
    (out / "1" / "9").mkdir()
    table = pa.table({"output_path": ["1/2/3.dcm"]})
    assert orphan_outputs(ledger, out, table) == []
    _refuse(monkeypatch, out / "1" / "9")
    assert orphan_outputs(ledger, out, table) == [Finding("1/9", "folder", "unlistable-output")]
    assert orphan_outputs(ledger, tmp_path / "nowhere", table) == []  # no output at all
