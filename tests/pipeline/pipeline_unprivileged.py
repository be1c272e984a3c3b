"""Run the CLI without root's power over file modes, for tests where permissions matter.

We and CI run as root, which reads any folder whatever its mode: a test of unreadable input
run as root proves nothing, and skipping it as root means it never runs. So the command
runs through ``setpriv``: as the ``nobody`` user when that user can start this Python
(interpreters under a 0700 ``/root`` cannot be), else as root without the two capabilities
that bypass file modes (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``), dropped from the
bounding set so no child process regains them. Either way, the kernel then refuses to list
a ``chmod 000`` folder, which :func:`unprivileged_prefix` checks before returning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

NOBODY = 65534
REPO = Path(__file__).resolve().parents[2]
_DROP_DAC = "-dac_override,-dac_read_search"


def _works(prefix: list[str], probe: Path) -> bool:
    """``prefix`` starts this Python with its packages (an interpreter may start yet miss
    its site-packages), and a mode-000 folder stays shut."""
    code = (
        "import os, sys\n"
        "import distributed, pyarrow, pydicom, deid.pipeline.batch\n"
        "try:\n    os.listdir(sys.argv[1])\n"
        "except PermissionError:\n    sys.exit(0)\n"
        "sys.exit(3)"
    )
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", code, str(probe)],
            env=unprivileged_env(),
            capture_output=True,
            timeout=60,
        )
    except OSError:
        return False
    return done.returncode == 0


@cache
def _prefix(probe_root: str) -> tuple[str, ...] | None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = Path(probe_root) / "probe-locked"
    probe.mkdir(mode=0o755, exist_ok=True)
    probe.chmod(0)
    try:
        if os.geteuid() != 0:  # already unprivileged
            return ()
        # Root without the file-mode bypass first: the run's ledger and output then belong
        # to the test's own user. ``nobody`` is the fallback: it cannot run a virtual
        # environment made from a Python under root's 0700 home (a pyenv), which deid now
        # says in one line (test_an_interpreter_this_user_cannot_run_...).
        capless = [setpriv, f"--bounding-set={_DROP_DAC}", f"--inh-caps={_DROP_DAC}"]
        if _works(capless, probe):
            return tuple(capless)
        nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        if _works(nobody, probe):
            return tuple(nobody)
        return None
    finally:
        probe.chmod(0o700)
        probe.rmdir()


def unprivileged_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DEID_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["HOME"] = "/tmp"
    return env


def unprivileged_prefix(workspace: Path) -> tuple[str, ...]:
    """The command prefix; fails (never skips) when no way to shed root's power works.

    ``workspace`` must be a folder the unprivileged user can write (the ``unprivileged_dir``
    fixture).
    """
    prefix = _prefix(str(workspace))
    if prefix is None:
        pytest.fail("cannot run without root's file-mode bypass: setpriv missing or refused")
    return prefix


def run_unprivileged(
    workspace_dir: Path, *args: object, timeout: float = 300, python: list[str] | None = None
) -> subprocess.CompletedProcess:
    """``deid ARGS`` without root's file-mode bypass; stdout and stderr captured as text.

    ``python``: what follows the interpreter instead of ``-m deid`` (e.g. ``-c CODE``)."""
    prefix = unprivileged_prefix(workspace_dir)
    return subprocess.run(
        [*prefix, sys.executable, *(python or ["-m", "deid"]), *map(str, args)],
        env=unprivileged_env(),
        cwd=workspace_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
