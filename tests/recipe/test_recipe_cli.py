"""Exit codes and output of ``deid validate`` and ``deid schema``."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator


def test_validate_valid_recipes_exit_0(run_deid):
    result = run_deid(
        "validate", "recipes/basic.yaml", "recipes/research.yaml", "recipes/retain-uids.yaml"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid") == 3


def test_validate_reports_every_error_and_exits_1(run_deid, write, tmp_path):
    path = write(
        "bad.yaml",
        "deid-recipe: 1\n"
        "options: [retain-uid]\n"
        "attributes:\n"
        "  PatientNam: X\n"
        "  StudyDescription: U\n"
        "dates: {policy: shift, shift-days: {min: 5, max: 1}}\n",
    )
    result = run_deid("validate", str(path), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "4", "5", "6"]
    assert all(line.startswith("bad.yaml:") for line in lines)
    assert 'did you mean "retain-uids"' in lines[0]


def test_validate_json(run_deid, write, tmp_path):
    good = write("good.yaml", "deid-recipe: 1\n")
    bad = write("bad.yaml", "deid-recipe: 2\n")
    result = run_deid("validate", "--format", "json", str(good), str(bad), cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [r["valid"] for r in report["recipes"]] == [True, False]
    assert report["recipes"][1]["errors"][0]["line"] == 1


def test_validate_missing_file_is_a_usage_error(run_deid):
    result = run_deid("validate", "recipes/basic.yaml", "no/such.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == "deid: no/such.yaml: cannot read recipe: no such file"


def test_validate_without_arguments_is_a_usage_error(run_deid):
    assert run_deid("validate").returncode == 2


def test_explain_missing_and_invalid_recipe_are_one_line(run_deid, write, tmp_path):
    missing = run_deid("explain", "nope.yaml")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    bad = write("bad.yaml", "deid-recipe: 1\nattributes:\n  Foo: X\n")
    invalid = run_deid("explain", str(bad), cwd=tmp_path)
    assert invalid.returncode == 2
    assert invalid.stderr.startswith("deid: bad.yaml:3:3: unknown attribute keyword")
    assert "Traceback" not in invalid.stderr


def test_schema_is_a_valid_draft_2020_12_schema(run_deid):
    result = run_deid("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_pre_commit_hook_runs_validate(root):
    import yaml

    hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "deid-validate")
    assert hook["entry"].split()[:2] == ["deid", "validate"]
    assert hook["language"] == "python"
    import re

    assert re.search(hook["files"], "recipes/research.yaml")
    assert not re.search(hook["files"], "profiles/basic.yaml")
