"""Unreadable input, run as users run it: without root's power to read any folder.

See :mod:`pipeline_unprivileged` for how the CLI sheds that power (never a skip as root).
"""

from __future__ import annotations

from pathlib import Path

from pipeline_builders import BASIC, HEX_KEY, make_image, save
from pipeline_helpers import ledger_rows, run_cli
from pipeline_unprivileged import run_unprivileged


def _setup(root: Path) -> tuple[Path, Path]:
    src = root / "in"
    key = root / "secret.key"
    key.write_text(HEX_KEY + "\n")
    key.chmod(0o644)
    return src, key


def _open_up(root: Path) -> None:
    """Files the test made as root, readable by the unprivileged run."""
    for path in (root, *root.rglob("*")):
        path.chmod(0o777 if path.is_dir() else 0o644)


def test_unreadable_folder_and_file_are_recorded_and_the_run_exits_1(
    unprivileged_dir: Path,
) -> None:
    src, key = _setup(unprivileged_dir)
    for i in range(3):
        save(make_image(patient_id=f"OK{i}"), src / "readable" / f"im{i}")
        save(make_image(patient_id=f"LOCK{i}"), src / "Doe_Jane_123" / f"im{i}")
    save(make_image(), src / "locked_file")
    _open_up(unprivileged_dir)
    locked = src / "Doe_Jane_123"
    locked.chmod(0)
    (src / "locked_file").chmod(0)
    out = unprivileged_dir / "out"
    done = run_unprivileged(
        unprivileged_dir, "run", BASIC, src, "--out", out, "--key-file", key, "--workers", 1
    )
    assert done.returncode == 1, done.stderr
    rows = {Path(r["input_path"]).name: r for r in ledger_rows(unprivileged_dir / "out.ledger")}
    assert len(rows) == 5  # three files, the folder nobody could list, the unreadable file
    folder = rows["Doe_Jane_123"]
    assert folder["status"] == "quarantined"
    assert folder["reason"] == (
        "folder cannot be listed (Permission denied): its files are not in this run"
    )
    assert rows["locked_file"]["reason"] == "PermissionError: Permission denied"
    assert sum(r["status"] == "written" for r in rows.values()) == 3
    assert "quarantined         2" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_unreadable_or_empty_input_root_is_one_line(unprivileged_dir: Path) -> None:
    src, key = _setup(unprivileged_dir)
    (src / "empty" / "sub").mkdir(parents=True)
    (src / "locked").mkdir()
    save(make_image(), src / "locked" / "im")
    _open_up(unprivileged_dir)
    (src / "locked").chmod(0)
    for name, message in (
        ("empty", f"deid: the input folder {src / 'empty'} holds no files\n"),
        ("locked", f"deid: cannot list the input {src / 'locked'}: Permission denied\n"),
    ):
        out = unprivileged_dir / f"out-{name}"
        done = run_unprivileged(
            unprivileged_dir, "run", BASIC, src / name, "--out", out, "--key-file", key
        )
        assert (done.returncode, done.stderr) == (2, message)
        assert not out.exists()
    manifest = unprivileged_dir / "empty.txt"
    manifest.write_text("\n\n")
    manifest.chmod(0o644)
    done = run_unprivileged(
        unprivileged_dir,
        *("run", BASIC, "--manifest", manifest, "--out", unprivileged_dir / "o"),
        *("--key-file", key),
    )
    assert (done.returncode, done.stderr) == (2, f"deid: the manifest {manifest} lists no paths\n")


def test_a_folder_named_in_a_manifest_is_recorded_not_skipped(tmp_path, key_file) -> None:
    folder = tmp_path / "in" / "a_folder"
    save(make_image(), folder / "im")
    manifest = tmp_path / "paths.txt"
    manifest.write_text(f"{folder}\n")
    out = tmp_path / "out"
    common = ("--key-file", key_file, "--workers", 1)
    assert run_cli("run", BASIC, "--manifest", manifest, "--out", out, *common) == 1
    (row,) = ledger_rows(tmp_path / "out.ledger")
    assert row["reason"] == (
        "a folder, not walked: its files are not in this run (give it as an INPUT)"
    )


def test_an_interpreter_this_user_cannot_run_is_one_line_before_anything_is_written(
    unprivileged_dir: Path,
) -> None:
    """A virtual environment made from a Python under another user's 0700 home (a pyenv
    under /root): its ``bin/python`` link cannot be followed by the user running deid, so
    no worker process, forkserver or resource tracker can start. That used to end in a
    screen of broken-pipe tracebacks after the output and ledger folders were made."""
    import sys

    src, key = _setup(unprivileged_dir)
    save(make_image(), src / "im")
    _open_up(unprivileged_dir)  # before the links: chmod follows a link to its target
    home = unprivileged_dir / "home"
    home.mkdir()
    (home / "python3").symlink_to(sys.executable)
    venv_python = unprivileged_dir / "venv-python"
    venv_python.symlink_to(home / "python3")
    home.chmod(0)  # as another user's 0700 home looks to this one
    out = unprivileged_dir / "out"
    code = (
        "import sys; sys.executable = sys.argv[1]\n"
        "from deid.cli import main\n"
        "sys.exit(main(sys.argv[2:]))"
    )
    done = run_unprivileged(
        unprivileged_dir, "run", BASIC, src, "--out", out, "--key-file", key,
        python=["-c", code, str(venv_python)],
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot run" in done.stderr and str(venv_python) in done.stderr
    assert not out.exists() and not (unprivileged_dir / "out.ledger").exists()
