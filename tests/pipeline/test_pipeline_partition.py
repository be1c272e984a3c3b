"""One partition without Dask: the per-file time limit, crashing children, skipping."""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from pipeline_builders import BASIC, HEX_KEY, make_image, save

from deid.pipeline import ledger as ledger_mod
from deid.pipeline.partition import RunSetup, run_partition
from deid.recipe import load_recipe
from deid.rewrite.keyring import KeyRing

HANG_CHILD = (sys.executable, str(Path(__file__).with_name("pipeline_hang_child.py")))
LEAKY_CHILD = (sys.executable, str(Path(__file__).with_name("pipeline_leaky_child.py")))


def _setup(tmp_path: Path, timeout: float, command=None, verify: bool = False) -> RunSetup:
    recipe = load_recipe(BASIC)
    ledger = tmp_path / "ledger"
    ledger_mod.ensure_ledger(ledger)
    return RunSetup(
        recipe_pickle=pickle.dumps(recipe),
        recipe_digest=recipe.digest,
        keys=KeyRing(bytes.fromhex(HEX_KEY)),
        out_dir=str(tmp_path / "out"),
        ledger_dir=str(ledger),
        verify=verify,
        file_timeout=timeout,
        child_command=command,
    )


def test_hang_and_crash_cost_only_their_own_file(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    names = ["a_good", "b_HANG", "c_good", "d_CRASH", "e_good"]
    paths = [str(save(make_image(), inputs / n)) for n in names]
    setup = _setup(tmp_path, timeout=3.0, command=HANG_CHILD)
    started = time.monotonic()
    summary = run_partition(0, "hash-0", paths, setup)
    assert time.monotonic() - started < 60
    assert summary["status"] == {"written": 3, "quarantined": 2}
    rows = pq.read_table(ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)).to_pylist()
    by_name = {Path(r["input_path"]).name: r for r in rows}
    assert [Path(r["input_path"]).name for r in rows] == names
    assert by_name["b_HANG"]["reason"] == "timeout: no result within 3 s"
    assert by_name["d_CRASH"]["reason"] == "worker child killed by SIGSEGV"
    assert all(by_name[n]["status"] == "written" for n in ("a_good", "c_good", "e_good"))
    written = list((tmp_path / "out").rglob("*.dcm"))
    assert len(written) == 3


def test_verify_index_reads_inputs_under_the_time_limit(tmp_path: Path) -> None:
    """--verify's partition index reads every input before the first file is processed;
    it did so in the Dask worker's thread, where a file that hangs the parser hung the
    partition for good. Read by the child, it costs that file its time limit, twice."""
    inputs = tmp_path / "in"
    names = ["a_good", "b_HANG", "c_CRASH", "d_good"]
    paths = [str(save(make_image(patient_name=f"Person^{n[2:]}"), inputs / n)) for n in names]
    setup = _setup(tmp_path, timeout=3.0, command=HANG_CHILD, verify=True)
    started = time.monotonic()
    summary = run_partition(0, "hash-i", paths, setup)
    elapsed = time.monotonic() - started
    # The hanging file's time limit was spent in the index and again in its own step.
    assert 2 * 3.0 <= elapsed < 60
    assert summary["status"] == {"written": 2, "quarantined": 2}
    rows = pq.read_table(ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)).to_pylist()
    by_name = {Path(r["input_path"]).name: r for r in rows}
    assert by_name["b_HANG"]["reason"] == "timeout: no result within 3 s"
    assert by_name["c_CRASH"]["reason"] == "worker child killed by SIGSEGV"


def test_finished_partition_is_skipped(tmp_path: Path) -> None:
    paths = [str(save(make_image(), tmp_path / "in" / "one"))]
    setup = _setup(tmp_path, timeout=60)
    first = run_partition(0, "hash-a", paths, setup)
    assert first == {**first, "skipped": False, "status": {"written": 1}}
    part = ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)
    stamp = part.stat().st_mtime_ns
    second = run_partition(0, "hash-a", paths, setup)
    assert second["skipped"] and second["status"] == {"written": 1}
    assert part.stat().st_mtime_ns == stamp
    third = run_partition(0, "hash-b", paths, setup)  # another plan: redone, same output
    assert not third["skipped"] and third["status"] == {"written": 1}
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1


def test_verify_quarantines_an_output_that_leaks(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    paths = [
        str(save(make_image(patient_name="Leaky^Lucy"), inputs / "LEAK_1")),
        str(save(make_image(patient_name="Quiet^Quentin"), inputs / "ok_2")),
    ]
    setup = _setup(tmp_path, timeout=60, command=LEAKY_CHILD, verify=True)
    summary = run_partition(0, "hash-v", paths, setup)
    assert summary["status"] == {"quarantined": 1, "written": 1}
    rows = pq.read_table(ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)).to_pylist()
    leak, ok = rows
    assert leak["status"] == "quarantined" and leak["reason"].startswith("verify: ")
    assert "Leaky" not in leak["reason"] and "Lucy" not in leak["reason"]
    assert leak["output_path"] is None
    assert ok["status"] == "written"
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1


def test_a_child_that_cannot_start_fails_the_partition_not_its_files(tmp_path: Path) -> None:
    """A broken installation is not a bad file: the partition fails (and is redone by the
    next run) instead of quarantining every file with a misleading reason."""
    import pytest

    from deid.pipeline.partition import ChildFailed

    broken = (sys.executable, "-c", "import sys; print('engine import failed', file=sys.stderr)")
    setup = _setup(tmp_path, timeout=60, command=broken)
    paths = [str(save(make_image(), tmp_path / "in" / "one"))]
    with pytest.raises(ChildFailed, match="engine import failed"):
        run_partition(0, "hash-x", paths, setup)
    assert not ledger_mod.part_path(Path(setup.ledger_dir), "files", 0).exists()


def test_a_child_that_exits_idle_as_files_arrive_loses_none(tmp_path: Path) -> None:
    """A child may exit on its own (idle time-out, status 0) just as files are queued to
    it: the file it had is tried once more and the one queued behind it is not lost."""
    names = ["a_IDLE", "b_good", "c_good"]
    paths = [str(save(make_image(), tmp_path / "in" / n)) for n in names]
    setup = _setup(tmp_path, timeout=60, command=HANG_CHILD)
    summary = run_partition(0, "hash-0", paths, setup)
    assert summary["status"] == {"written": 3}
    rows = pq.read_table(ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)).to_pylist()
    assert [Path(r["input_path"]).name for r in rows] == names


def test_children_that_die_before_any_file_fail_the_partition(tmp_path: Path, monkeypatch) -> None:
    """A child whose pipe is gone before it takes a file is replaced; when that keeps
    happening it is an installation problem: the partition fails, no file is quarantined."""
    import pytest

    from deid.pipeline import partition
    from deid.pipeline.partition import ChildFailed

    setup = _setup(tmp_path, timeout=60)
    monkeypatch.setattr(partition.Child, "submit", lambda self, path, index: False)
    paths = [str(save(make_image(), tmp_path / "in" / "one"))]
    with pytest.raises(ChildFailed, match="keeps dying before it takes a file"):
        run_partition(0, "hash-d", paths, setup)
    assert not ledger_mod.part_path(Path(setup.ledger_dir), "files", 0).exists()
