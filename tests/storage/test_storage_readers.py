"""``deid verify``, ``deid report`` and ``deid ledger export-mappings`` on a run whose
output and ledger are in a bucket (a real S3 server, moto)."""

from __future__ import annotations

import json

import pytest
from pipeline_builders import BASIC, make_export
from pipeline_helpers import run_cli
from storage_helpers import HEX_KEY


@pytest.fixture
def bucket_run(tmp_path, s3):
    src = tmp_path / "export"
    make_export(src, patients=2, images=2)
    bucket = s3.bucket("readers")
    s3.upload(src, f"{bucket}/export")
    key_file = tmp_path / "secret.key"
    key_file.write_text(HEX_KEY + "\n")
    code = run_cli(
        "run", BASIC, f"{bucket}/export", "--out", f"{bucket}/out", "--key-file", key_file
    )
    assert code == 0
    return bucket


def test_report_reads_the_ledger_from_the_bucket(bucket_run, capsys):
    capsys.readouterr()
    assert run_cli("report", f"{bucket_run}/out.ledger", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["written"] == 4 and data["files"] == 4
    assert run_cli("report", f"{bucket_run}/out.ledger", "--status", "written") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{bucket_run}/export/") for line in lines)
    assert run_cli("report", f"{bucket_run}/out") == 2  # the output, not its ledger
    assert "the ledger of that output is" in capsys.readouterr().err


def test_export_mappings_from_the_bucket(bucket_run, tmp_path):
    maps = tmp_path / "maps"
    assert run_cli("ledger", "export-mappings", f"{bucket_run}/out.ledger", "--out", maps) == 0
    patients = (maps / "patid_mapping.csv").read_text().splitlines()
    assert patients[0] == "id_old,id_new" and len(patients) == 3


def test_verify_a_bucket_output_and_find_an_orphan(bucket_run, s3, capsys):
    assert run_cli("verify", f"{bucket_run}/out", "--workers", 1) == 0
    assert "findings: 0 (clean)" in capsys.readouterr().out
    s3.fs.pipe_file(f"{bucket_run.removeprefix('s3://')}/out/stray.dcm", b"not ours")
    assert run_cli("verify", f"{bucket_run}/out", "--workers", 1) == 1
    out = capsys.readouterr().out
    assert "stray.dcm" in out and "orphan-output" in out
