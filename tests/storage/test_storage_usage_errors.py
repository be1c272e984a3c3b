"""What a user gets wrong with object storage: one line ``deid: ...``, exit 2, nothing
written anywhere (checked before any Dask process starts)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from pipeline_builders import BASIC, make_export
from pipeline_helpers import run_cli
from storage_helpers import HEX_KEY, S3, start_moto, stop, use_endpoint


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.key"
    path.write_text(HEX_KEY + "\n")
    return path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("deid: ")
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "url, expected",
    [
        ("s3:/bucket/prefix", "write s3://BUCKET/PREFIX"),
        ("s3://", "no bucket name"),
        ("s4://bucket/x", "unknown URL scheme s4://"),
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://bucket/a/../b", "'.' and '..' are not allowed"),
    ],
)
def test_bad_url_is_one_line(tmp_path, key_file, capsys, url, expected):
    src = tmp_path / "in"
    make_export(src, patients=1, images=1)
    assert run_cli("run", BASIC, src, "--out", url, "--key-file", key_file) == 2
    assert expected in _one_line(capsys)
    assert run_cli("run", BASIC, url, "--out", tmp_path / "out", "--key-file", key_file) == 2
    assert expected in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "secret.key"]


def test_missing_bucket_is_one_line(tmp_path, s3, key_file, capsys):
    src = tmp_path / "in"
    make_export(src, patients=1, images=1)
    missing = f"s3://{s3.prefix}-no-such-bucket"
    assert run_cli("run", BASIC, src, "--out", f"{missing}/out", "--key-file", key_file) == 2
    assert f"the bucket {s3.prefix}-no-such-bucket does not exist" in _one_line(capsys)
    code = run_cli("run", BASIC, f"{missing}/in", "--out", tmp_path / "o", "--key-file", key_file)
    assert code == 2
    assert "does not exist" in _one_line(capsys)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.ledger").exists()
    bucket = s3.bucket("ledgerless")
    code = run_cli(
        "run", BASIC, src, "--out", f"{bucket}/out", "--ledger", f"{missing}/ledger",
        "--key-file", key_file,
    )  # fmt: skip
    assert code == 2
    assert "cannot use the ledger" in _one_line(capsys)
    assert s3.keys(bucket) == []


def test_empty_prefix_is_one_line(tmp_path, s3, key_file, capsys):
    bucket = s3.bucket("empty")
    code = run_cli(
        "run", BASIC, f"{bucket}/nothing", "--out", tmp_path / "o", "--key-file", key_file
    )
    assert code == 2
    assert "no object at or below" in _one_line(capsys)


def test_ledger_inside_output_is_refused(tmp_path, s3, key_file, capsys):
    src = tmp_path / "in"
    make_export(src, patients=1, images=1)
    bucket = s3.bucket("inside")
    code = run_cli(
        "run", BASIC, src, "--out", f"{bucket}/out", "--ledger", f"{bucket}/out/ledger",
        "--key-file", key_file,
    )  # fmt: skip
    assert code == 2
    assert "must not be inside the output" in _one_line(capsys)
    assert s3.keys(bucket) == []


def test_wrong_credentials_are_one_line(tmp_path, key_file, capsys, monkeypatch):
    """A server that checks credentials (moto with authentication switched on) refuses the
    keys: one line that says so and never shows the secret."""
    proc, endpoint = start_moto(tmp_path)
    try:
        use_endpoint(monkeypatch, endpoint)
        s3 = S3(endpoint, "auth")
        bucket = s3.bucket("locked")
        request = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request, timeout=10).read()
        src = tmp_path / "in"
        make_export(src, patients=1, images=1)
        code = run_cli("run", BASIC, src, "--out", f"{bucket}/out", "--key-file", key_file)
        assert code == 2
        line = _one_line(capsys)
        assert "credentials were refused" in line
        assert "testing-secret" not in line
        code = run_cli(
            "run", BASIC, f"{bucket}/in", "--out", tmp_path / "o", "--key-file", key_file
        )
        assert code == 2
        assert "credentials were refused" in _one_line(capsys)
        assert not (tmp_path / "o").exists()
    finally:
        stop(proc)
