"""The parent's side of the per-file child: prestarted children are used, not leaked."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

from pipeline_builders import BASIC, HEX_KEY, make_image, save

from deid.pipeline import supervise
from deid.recipe import load_recipe
from deid.rewrite.keyring import KeyRing


def _child_setup(out: Path) -> dict:
    return {
        "recipe": pickle.dumps(load_recipe(BASIC)),
        "keys": KeyRing(bytes.fromhex(HEX_KEY)),
        "out_dir": str(out),
        "verify": False,
    }


def test_a_prestarted_child_serves_the_first_file(tmp_path: Path) -> None:
    plugin = supervise.PrestartChild()
    plugin.setup(SimpleNamespace(state=SimpleNamespace(nthreads=1)))
    try:
        spare_pid = supervise._spares[-1].proc.pid
        child = supervise.new_child(_child_setup(tmp_path / "out"))
        assert child.proc.pid == spare_pid
        assert not supervise._spares
        path = save(make_image(), tmp_path / "in" / "one")
        assert child.submit(str(path), 0)
        record = child.result(60)
        assert record.status == "written", record.reason
        child.close()
        assert child.proc.returncode == 0
    finally:
        plugin.teardown(None)


def test_spares_of_another_command_or_dead_are_not_used(tmp_path: Path) -> None:
    plugin = supervise.PrestartChild()
    plugin.setup(SimpleNamespace(state=SimpleNamespace(nthreads=2)))
    spares = list(supervise._spares)
    assert len(spares) == 2
    spares[0].kill()
    other = supervise.take_spare(("python", "-c", "pass"))  # not what was prestarted
    assert other is None and not supervise._spares
    assert all(s.proc.poll() is not None for s in spares)  # none left running


def test_teardown_stops_unused_spares() -> None:
    plugin = supervise.PrestartChild()
    plugin.setup(SimpleNamespace(state=SimpleNamespace(nthreads=1)))
    spare = supervise._spares[-1]
    plugin.teardown(None)
    assert spare.proc.poll() is not None and not supervise._spares


def test_a_spare_whose_worker_goes_away_exits_quietly() -> None:
    child = supervise.Child()
    child.send.close()  # the worker died before it needed this child
    assert child.proc.wait(timeout=60) == 0
    assert child.stderr_tail() == ""  # no traceback
    child.kill()
    assert child.stderr.closed
