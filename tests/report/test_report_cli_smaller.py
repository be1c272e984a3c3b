"""Smaller points of the CLI: verify's positional OUT, a moved input, run's help texts."""

from __future__ import annotations

import json
import shutil

from report_builders import deid_subprocess, run_cli


def test_verify_takes_out_positionally_like_report(example_run):
    code, out, err = run_cli("verify", example_run["out"], "--workers", 1)
    assert code == 0, err
    assert "findings: 0 (clean)" in out  # the summary is a result: stdout
    code, _, err = run_cli("verify", example_run["out"], "--out", "/elsewhere")
    assert code == 2 and "two output folders" in err
    assert run_cli("verify")[0] == 2


def test_verify_says_to_pass_input_when_the_recorded_one_moved(example_run, tmp_path):
    ledger = tmp_path / "copy.ledger"
    shutil.copytree(example_run["ledger"], ledger)
    (ledger / "inputs.json").write_text(json.dumps({"inputs": [str(tmp_path / "moved")]}))
    code, _, err = run_cli("verify", example_run["out"], "--ledger", ledger, "--workers", 1)
    assert code == 2 and err.count("\n") == 1
    assert str(tmp_path / "moved") in err and "pass its new place with --input" in err
    code, _, err = run_cli("verify", example_run["out"], "--ledger", ledger, "--workers", 1,
                           "--input", example_run["export"])  # fmt: skip
    assert code == 0, err


def test_run_help_names_builtin_recipes_and_defaults():
    done = deid_subprocess("run", "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    assert "built-in recipe: basic, research, retain-uids" in text
    assert "--partition-size N files per partition (default: up to 500, fewer" in text
    assert "--workers N local worker processes (default: one per core" in text
