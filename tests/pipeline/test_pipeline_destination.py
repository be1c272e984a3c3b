"""A destination that refuses writes (full, read-only, failing, over quota) is not a file's
fate: the partition fails, the run stops with exit 3, and the rerun after fixing it
completes every file."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest
from pipeline_builders import BASIC, HEX_KEY, make_image, save
from pipeline_helpers import ledger_rows, output_files, run_cli

from deid.pipeline import ledger as ledger_mod
from deid.pipeline import per_file as worker_mod
from deid.pipeline.destination import DESTINATION_FAILED, EXIT_DESTINATION, DestinationFailed
from deid.pipeline.partition import RunSetup, run_partition
from deid.recipe import load_recipe
from deid.rewrite.keyring import KeyRing


def _setup(tmp_path: Path) -> RunSetup:
    recipe = load_recipe(BASIC)
    ledger = tmp_path / "ledger"
    ledger_mod.ensure_ledger(ledger)
    return RunSetup(
        recipe_pickle=pickle.dumps(recipe),
        recipe_digest=recipe.digest,
        keys=KeyRing(bytes.fromhex(HEX_KEY)),
        out_dir=str(tmp_path / "out"),
        ledger_dir=str(ledger),
        verify=False,
        file_timeout=60,
    )


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT])
def test_a_refused_write_is_a_destination_failure_not_a_quarantine(
    tmp_path, monkeypatch, code
) -> None:
    setup = _setup(tmp_path)
    path = str(save(make_image(), tmp_path / "in" / "Doe_Jane"))
    ctx = worker_mod.WorkContext(load_recipe(BASIC), setup.keys, Path(setup.out_dir))

    def refuse(target, data):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(worker_mod, "write_unique", refuse)
    record = worker_mod.process_file(path, ctx)
    assert record.status == DESTINATION_FAILED
    assert record.reason == f"output {setup.out_dir}: {os.strerror(code)}"
    assert "Doe" not in record.reason


def test_other_write_errors_still_quarantine_the_file(tmp_path, monkeypatch) -> None:
    setup = _setup(tmp_path)
    path = str(save(make_image(), tmp_path / "in" / "one"))
    ctx = worker_mod.WorkContext(load_recipe(BASIC), setup.keys, Path(setup.out_dir))

    def refuse(target, data):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))

    monkeypatch.setattr(worker_mod, "write_unique", refuse)
    assert worker_mod.process_file(path, ctx).status == "quarantined"


def test_a_full_ledger_volume_fails_the_partition(tmp_path, monkeypatch) -> None:
    setup = _setup(tmp_path)
    paths = [str(save(make_image(), tmp_path / "in" / "one"))]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ledger_mod, "write_partition", full)
    with pytest.raises(DestinationFailed, match=r"ledger .*: No space left on device"):
        run_partition(0, "h", paths, setup)
    assert not ledger_mod.partition_complete(Path(setup.ledger_dir), 0, "h")


@contextlib.contextmanager
def _tmpfs(where: Path, size: str):
    """A small tmpfs mounted at ``where`` (root in a container may mount one; elsewhere
    the test is skipped: the errno tests above still run)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_stops_the_run_with_exit_3_and_the_rerun_completes_every_file(
    tmp_path, key_file, capsys
) -> None:
    src = tmp_path / "in"
    for i in range(12):
        save(make_image(patient_id=f"P{i:02d}", size=64), src / f"im{i:02d}")
    with _tmpfs(tmp_path / "volume", "40k") as volume:
        out = volume / "out"
        ledger = tmp_path / "ledger"
        common = ("--ledger", ledger, "--key-file", key_file, "--workers", 1)
        command = ("run", BASIC, src, "--out", out, *common, "--partition-size", 3)
        assert run_cli(*command) == EXIT_DESTINATION
        err = capsys.readouterr().err
        assert "deid: cannot write the destination (output " in err
        assert "No space left on device" in err and "run the same command again" in err
        assert "Traceback" not in err
        rows = ledger_rows(ledger)
        assert len(rows) < 12  # the run stopped
        assert all(r["status"] == "written" for r in rows)  # nothing quarantined for it
        run = json.loads((ledger / "run.json").read_text())
        assert run["state"] == "destination-failed"
        assert run["history"][-1]["destination_error"].endswith("No space left on device")

        subprocess.run(["mount", "-o", "remount,size=4m", str(volume)], check=True)
        assert run_cli(*command) == 0
        rows = ledger_rows(ledger)
        assert sorted(Path(r["input_path"]).name for r in rows) == [f"im{i:02d}" for i in range(12)]
        assert {r["status"] for r in rows} == {"written"}
        assert len(output_files(out)) == 12
        assert not [p for p in out.rglob("*") if p.name.endswith(".deid-tmp")]


def test_a_read_only_output_stops_the_run_with_exit_3(tmp_path, key_file, capsys) -> None:
    src = tmp_path / "in"
    for i in range(3):
        save(make_image(patient_id=f"P{i}"), src / f"im{i}")
    with _tmpfs(tmp_path / "volume", "4m") as volume:
        out = volume / "out"
        out.mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(volume)], check=True)
        ledger = tmp_path / "ledger"
        command = ("run", BASIC, src, "--out", out, "--ledger", ledger, "--key-file", key_file)
        assert run_cli(*command, "--workers", 1) == EXIT_DESTINATION
        err = capsys.readouterr().err
        assert "cannot write the destination (output " in err and "Read-only file system" in err
        assert ledger_rows(ledger) == []
        subprocess.run(["mount", "-o", "remount,rw", str(volume)], check=True)
        assert run_cli(*command, "--workers", 1) == 0
        assert len(output_files(out)) == 3
