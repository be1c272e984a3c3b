"""What a new user gets wrong on the command line: each mistake is one ``deid: ...`` line,
exit 2 (130 for Ctrl-C), no traceback, and nothing written: no output, no ledger, no key,
and above all nothing inside the input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline_builders import BASIC, deid_command, make_export, make_image, save, subprocess_env
from pipeline_helpers import ledger_rows, output_files, run_cli


def _one_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deid: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (itself included) with its mode, size and mtime."""
    found = {}
    for path in [root, *root.rglob("*")]:
        st = path.stat()
        found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    save(make_image(), root / "one")
    return root


def _fake_ledger(folder: Path, out: Path) -> None:
    """What another run leaves: run.json (naming its output), files/, uids/, key."""
    (folder / "files").mkdir(parents=True)
    (folder / "uids").mkdir()
    (folder / "key").write_text("00" * 32 + "\n")
    (folder / "run.json").write_text(json.dumps({"out": str(out), "state": "complete"}))


def test_output_that_is_another_runs_ledger_is_refused(tmp_path, src, key_file, capsys):
    """``--out old.deid.ledger`` used to write the outputs next to the old run's key and
    mappings, in the folder meant to be shared."""
    old_out = tmp_path / "old.deid"
    old_out.mkdir()
    ledger = tmp_path / "old.deid.ledger"
    _fake_ledger(ledger, old_out)
    before = _snapshot(ledger)
    assert run_cli("run", BASIC, src, "--out", ledger, "--key-file", key_file) == 2
    _one_line(capsys.readouterr().err, str(ledger), "ledger of another deid run")
    assert run_cli("run", BASIC, src, "--out", ledger / "files" / "x", "--key-file", key_file) == 2
    _one_line(capsys.readouterr().err, "ledger of another deid run")
    assert _snapshot(ledger) == before
    assert not Path(f"{ledger}.ledger").exists()


@pytest.mark.parametrize("where", ["input itself", "inside input"])
def test_ledger_in_the_input_is_refused_and_the_input_untouched(
    tmp_path, src, key_file, capsys, where
):
    """``--ledger IN`` used to chmod the input 0700, write run.json and files/ into it and
    process nothing (the ledger is pruned from the walk, so was the whole input)."""
    ledger = src if where == "input itself" else src / "ledger"
    before = _snapshot(src)
    code = run_cli("run", BASIC, src, "--out", tmp_path / "o", "--ledger", ledger)
    assert code == 2
    _one_line(capsys.readouterr().err, f"the ledger {ledger} must not be inside the input")
    assert _snapshot(src) == before
    assert not (tmp_path / "o").exists()


def test_ledger_inside_another_runs_output_is_refused(tmp_path, src, key_file, capsys):
    """``--ledger old.deid/ledger`` would put identities into a folder that is shared."""
    shared = tmp_path / "old.deid"
    shared.mkdir()
    _fake_ledger(tmp_path / "old.deid.ledger", shared)
    ledger = shared / "ledger"
    code = run_cli(
        "run", BASIC, src, "--out", tmp_path / "new", "--ledger", ledger, "--key-file", key_file
    )
    assert code == 2
    _one_line(capsys.readouterr().err, f"inside {shared}, the output of another deid run")
    assert list(shared.iterdir()) == [] and not (tmp_path / "new").exists()


def test_input_inside_the_ledger_is_refused(tmp_path, key_file, capsys):
    ledger = tmp_path / "l"
    save(make_image(), ledger / "in" / "one")
    code = run_cli(
        "run", BASIC, ledger / "in", "--out", tmp_path / "o", "--ledger", ledger, "--key-file",
        key_file,
    )  # fmt: skip
    assert code == 2
    _one_line(capsys.readouterr().err, "is inside the ledger")
    assert not (ledger / "files").exists() and not (tmp_path / "o").exists()


def test_ledger_folder_holding_other_files_is_refused(tmp_path, src, key_file, capsys):
    """An existing folder that is not a ledger is not made owner-only and filled with one."""
    ledger = tmp_path / "documents"
    (ledger / "notes.txt").parent.mkdir()
    (ledger / "notes.txt").write_text("mine")
    os.chmod(ledger, 0o755)
    code = run_cli(
        "run", BASIC, src, "--out", tmp_path / "o", "--ledger", ledger, "--key-file", key_file
    )
    assert code == 2
    _one_line(capsys.readouterr().err, "holds other files (notes.txt")
    assert sorted(p.name for p in ledger.iterdir()) == ["notes.txt"]
    assert ledger.stat().st_mode & 0o777 == 0o755


def test_output_that_is_a_file_is_refused(tmp_path, src, key_file, capsys):
    target = tmp_path / "recipe.yaml"
    target.write_text("deid-recipe: 1\n")
    assert run_cli("run", BASIC, src, "--out", target, "--key-file", key_file) == 2
    _one_line(capsys.readouterr().err, "exists and is not a folder")
    assert not Path(f"{target}.ledger").exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scheduler_on_a_closed_port_fails_at_once_and_creates_nothing(tmp_path, src, capsys):
    """It used to create the ledger and its key (and say so), then wait 30 s."""
    address = f"tcp://127.0.0.1:{_closed_port()}"
    out = tmp_path / "o"
    assert run_cli("run", BASIC, src, "--out", out, "--scheduler", address) == 2
    _one_line(capsys.readouterr().err, f"cannot reach scheduler {address}", "refused")
    assert not out.exists() and not Path(f"{out}.ledger").exists()


@pytest.mark.parametrize("command", ["run", "verify"])
@pytest.mark.parametrize("address", ["nonsense", "tcp://host", "tcp://h:port", "bogus://h:1"])
def test_malformed_scheduler_is_one_line(tmp_path, src, capsys, command, address):
    """A typo used to end in a ``distributed`` ValueError traceback (exit 1)."""
    out = tmp_path / "o"
    args = ["run", BASIC, src] if command == "run" else ["verify"]
    with pytest.raises(SystemExit) as stop:
        run_cli(*args, "--out", out, "--scheduler", address)
    assert stop.value.code == 2
    _one_line(capsys.readouterr().err, f"deid: {command}: argument --scheduler", "tcp://HOST:PORT")
    assert not out.exists()


def test_verify_scheduler_on_a_closed_port_is_one_line(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    _fake_ledger(Path(f"{out}.ledger"), out)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert run_cli("verify", "--out", out, "--scheduler", address) == 2
    _one_line(capsys.readouterr().err, f"cannot reach scheduler {address}")


def test_verify_with_another_runs_ledger_names_the_mistake(tmp_path, src, key_file, capsys):
    """Every file used to be reported missing or orphaned and nothing said why; now the
    last line names the ledger's own output (a note only: a copied pair is legitimate)."""
    first = tmp_path / "a.deid"
    args = ["--key-file", key_file, "--workers", 1]
    assert run_cli("run", BASIC, src, "--out", first, *args) == 0
    other = tmp_path / "b.deid"
    other.mkdir()
    capsys.readouterr()
    code = run_cli("verify", "--out", other, "--ledger", f"{first}.ledger", "--workers", 1)
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("deid verify: note: ")
    assert f"written for the output {first}, not {other}" in last
    assert run_cli("verify", "--out", first, "--workers", 1) == 0
    assert "note:" not in capsys.readouterr().err


def test_mappings_are_never_written_into_the_output(tmp_path, capsys):
    """``export-mappings --out OUT/mappings`` used to put the re-identification tables
    into the folder that is shared."""
    out = tmp_path / "x.deid"
    out.mkdir()
    _fake_ledger(tmp_path / "x.deid.ledger", out)
    for target in (out / "mappings", out):
        assert (
            run_cli("ledger", "export-mappings", tmp_path / "x.deid.ledger", "--out", target) == 2
        )
        _one_line(capsys.readouterr().err, "inside the run's output", "somewhere private")
    assert list(out.iterdir()) == []
    private = tmp_path / "private"
    assert run_cli("ledger", "export-mappings", tmp_path / "x.deid.ledger", "--out", private) == 0
    assert sorted(p.name for p in private.iterdir()) == ["patid_mapping.csv", "uid_mapping.csv"]


def test_rerun_without_the_env_key_names_it_and_creates_no_key(tmp_path, src, capsys, monkeypatch):
    """Forgetting ``DEID_KEY`` on the rerun used to create a fresh key in the ledger (and
    say so), then refuse the run for its other fingerprint."""
    out = tmp_path / "o"
    monkeypatch.setenv("DEID_KEY", "ab" * 32)
    assert run_cli("run", BASIC, src, "--out", out, "--workers", 1) == 0
    monkeypatch.delenv("DEID_KEY")
    capsys.readouterr()
    assert run_cli("run", BASIC, src, "--out", out, "--workers", 1) == 2
    _one_line(capsys.readouterr().err, "written with the key from env:DEID_KEY", "give that key")
    assert not (Path(f"{out}.ledger") / "key").exists()


def test_report_on_the_output_points_to_its_ledger(tmp_path, capsys):
    out = tmp_path / "x.deid"
    out.mkdir()
    _fake_ledger(tmp_path / "x.deid.ledger", out)
    for args in (["report", out], ["ledger", "export-mappings", out, "--out", tmp_path / "m"]):
        assert run_cli(*args) == 2
        _one_line(capsys.readouterr().err, f"the ledger of that output is {out}.ledger")
    assert run_cli("report", tmp_path) == 2
    assert "ledger of that output" not in capsys.readouterr().err


def test_usage_errors_of_argparse_are_one_line(tmp_path, src, capsys):
    """``--workers 0`` used to print the five-line usage block, then ``deid run: error:``."""
    for args, fragment in [
        (["run", BASIC, src, "--out", tmp_path / "o", "--workers", "0"], "--workers"),
        (["run", BASIC, src, "--out", tmp_path / "o", "--file-timeout", "-1"], "--file-timeout"),
        (["run", BASIC, src], "--out"),
        (["run"], "required: RECIPE, --out ("),  # INPUT is optional (--manifest)
        (["nosuchcommand"], "invalid choice"),
        (["pixels", "preview", "x.dcm"], "--recipe"),
    ]:
        with pytest.raises(SystemExit) as stop:
            run_cli(*args)
        assert stop.value.code == 2
        line = _one_line(capsys.readouterr().err, fragment)
        assert "--help" in line
    assert not (tmp_path / "o").exists()


def test_parquet_manifest_without_path_column_is_one_line(tmp_path, capsys):
    """pyarrow's multi-line schema dump used to be part of the message."""
    manifest = tmp_path / "m.parquet"
    pq.write_table(pa.table({"file": ["/a"], "size": [1]}), manifest)
    assert run_cli("run", BASIC, "--manifest", manifest, "--out", tmp_path / "o") == 2
    _one_line(capsys.readouterr().err, "needs a 'path' column (it has: file, size)")
    pq.write_table(pa.table({"path": [1, 2]}), manifest)
    assert run_cli("run", BASIC, "--manifest", manifest, "--out", tmp_path / "o") == 2
    _one_line(capsys.readouterr().err, "'path' column holds int64")
    manifest.write_bytes(b"PAR1 not really")
    assert run_cli("run", BASIC, "--manifest", manifest, "--out", tmp_path / "o") == 2
    _one_line(capsys.readouterr().err, "unreadable Parquet")
    assert not (tmp_path / "o").exists()


def test_manifest_that_is_a_folder_says_so(tmp_path, src, capsys):
    assert run_cli("run", BASIC, "--manifest", src, "--out", tmp_path / "o") == 2
    _one_line(capsys.readouterr().err, "is a folder; give it as an INPUT")


def test_text_manifest_blank_lines_are_skipped(tmp_path, src, key_file):
    manifest = tmp_path / "paths.txt"
    manifest.write_text(f"\n{src / 'one'}\n   \n\n")
    out = tmp_path / "o"
    assert run_cli("run", BASIC, "--manifest", manifest, "--out", out, "--key-file", key_file,
                   "--workers", 1) == 0  # fmt: skip
    assert [r["input_path"] for r in ledger_rows(Path(f"{out}.ledger"))] == [str(src / "one")]


def test_ctrl_c_is_one_line_and_the_rerun_finishes(tmp_path: Path, key_file: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it: workers used to print a
    KeyboardInterrupt traceback each, and a per-file child interrupted mid-file could be
    recorded as quarantined in a partition that then counted as done."""
    src = tmp_path / "in"
    make_export(src, patients=10, studies=2, images=5)  # 100 files, 34 partitions
    inputs = sorted(str(p) for p in src.rglob("*") if p.is_file())
    out, ledger = tmp_path / "out", tmp_path / "out.ledger"
    command = [
        *deid_command(), "run", BASIC, str(src), "--out", str(out), "--key-file", str(key_file),
        "--workers", "2", "--partition-size", "3",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=subprocess_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((ledger / "files").glob("part-*.parquet"))) >= 2:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = output.decode(errors="replace")
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "Error" not in text, text
    assert text.strip().splitlines()[-1].startswith("deid: interrupted; run the same command")
    run = json.loads((ledger / "run.json").read_text())
    assert run["state"] == "interrupted"
    assert all(r["status"] == "written" for r in ledger_rows(ledger)), ledger_rows(ledger)

    again = subprocess.run(command, capture_output=True, text=True, env=subprocess_env())
    assert again.returncode == 0, again.stderr
    rows = ledger_rows(ledger)
    assert sorted(r["input_path"] for r in rows) == inputs
    assert {r["status"] for r in rows} == {"written"}
    assert sorted(out / r["output_path"] for r in rows) == output_files(out)
    assert json.loads((ledger / "run.json").read_text())["state"] == "complete"


def test_a_bad_recipe_closes_the_cluster_started_meanwhile(tmp_path, src, key_file, capsys):
    """The local cluster starts while the recipe loads; a recipe that fails to load must
    leave no cluster, thread or changed Ctrl-C handling behind, and write nothing."""
    import threading

    handler = signal.getsignal(signal.SIGINT)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("deid-recipe: 1\nextends: basic\noptions: [retain-everything]\n")
    out = tmp_path / "o"
    assert run_cli("run", recipe, src, "--out", out, "--key-file", key_file) == 2
    assert "retain-everything" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is handler
    assert not [t for t in threading.enumerate() if t.name == "deid-cluster-start"]
    assert not out.exists() and not Path(f"{out}.ledger").exists()
