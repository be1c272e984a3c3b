"""A ledger that cannot lie: parts bound to their output and key, damaged parts named in one
line by every reader, and ``deid ledger check`` to list and move them aside."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pipeline_builders import BASIC, HEX_KEY, make_image, save
from pipeline_helpers import ledger_rows, output_files, run_cli

from deid.pipeline.records import FILES_SCHEMA
from deid.rewrite.keyring import KeyRing

OTHER_KEY = "ff" * 32


@pytest.fixture
def done_run(tmp_path: Path, key_file: Path) -> tuple[Path, Path, Path]:
    """Four inputs in two partitions, run to the end: (src, out, ledger)."""
    src = tmp_path / "in"
    for i in range(4):
        save(make_image(patient_id=f"P{i}"), src / f"im{i}")
    out = tmp_path / "out"
    common = ("--key-file", key_file, "--workers", 1, "--partition-size", 2)
    assert run_cli("run", BASIC, src, "--out", out, *common) == 0
    return src, out, tmp_path / "out.ledger"


def _one_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deid: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_every_part_records_its_output_and_key_in_its_metadata(done_run) -> None:
    _, out, ledger = done_run
    parts = sorted((ledger / "files").glob("part-*")) + sorted((ledger / "uids").glob("part-*"))
    assert len(parts) == 4
    fingerprint = KeyRing(bytes.fromhex(HEX_KEY)).fingerprint()
    for part in parts:
        schema = pq.read_schema(part)
        assert schema.metadata[b"deid.out"] == str(out.resolve()).encode()
        assert schema.metadata[b"deid.key_fingerprint"] == fingerprint.encode()
    assert pq.read_schema(parts[0]).names == FILES_SCHEMA.names  # metadata, not new columns


def test_a_ledger_reused_with_another_output_is_refused(done_run, tmp_path, key_file, capsys):
    src, _, ledger = done_run
    capsys.readouterr()
    elsewhere = tmp_path / "empty-out"
    code = run_cli(
        "run", BASIC, src, "--out", elsewhere, "--ledger", ledger, "--key-file", key_file
    )
    assert code == 2
    _one_line(capsys.readouterr().err, "describes the output", "give that --out")
    assert not elsewhere.exists()
    (ledger / "run.json").unlink()  # the parts alone still say it
    assert run_cli("run", BASIC, src, "--out", elsewhere, "--ledger", ledger) == 2
    _one_line(capsys.readouterr().err, "written with the key", "fingerprint")
    assert not (ledger / "key").exists() and not elsewhere.exists()


def test_another_key_is_refused_after_run_json_is_deleted(done_run, tmp_path, capsys):
    src, out, ledger = done_run
    (ledger / "run.json").unlink()
    other = tmp_path / "other.key"
    other.write_text(OTHER_KEY + "\n")
    capsys.readouterr()
    code = run_cli("run", BASIC, src, "--out", out, "--key-file", other, "--workers", 1)
    assert code == 2
    fingerprint = KeyRing(bytes.fromhex(HEX_KEY)).fingerprint()
    _one_line(capsys.readouterr().err, "another key", fingerprint)
    assert not (ledger / "run.json").exists()  # nothing recorded over the real one


@pytest.mark.parametrize("damage", ["truncated", "foreign", "pages"])
def test_damaged_part_is_one_line_for_every_reader_and_check_moves_it(
    done_run, tmp_path, key_file, capsys, damage
) -> None:
    src, out, ledger = done_run
    part = ledger / "files" / "part-000001.parquet"
    if damage == "truncated":
        part.write_bytes(part.read_bytes()[:-40])
    elif damage == "pages":  # footer and schema sound, every column's pages not
        data = bytearray(part.read_bytes())
        footer = int.from_bytes(data[-8:-4], "little")
        end = len(data) - 8 - footer
        data[4:end] = b"\x55" * (end - 4)
        part.write_bytes(bytes(data))
    else:
        part.write_text("a spreadsheet someone saved here\n")
    (ledger / "files" / "notes.txt").write_text("not a part")
    capsys.readouterr()
    name = "files/part-000001.parquet"
    assert run_cli("report", ledger) == 2
    _one_line(capsys.readouterr().err, "damaged ledger part", name, "deid ledger check")
    assert run_cli("verify", "--out", out, "--workers", 1) == 2
    _one_line(capsys.readouterr().err, "damaged ledger part", name)
    assert run_cli("ledger", "export-mappings", ledger, "--out", tmp_path / "maps") == 2
    _one_line(capsys.readouterr().err, "damaged ledger part", name)
    if damage != "pages":  # found before anything is read (the footer alone tells)
        assert not (tmp_path / "maps").exists()

    assert run_cli("ledger", "check", ledger) == 1
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("files/notes.txt: foreign file")
    assert listed[1].startswith(f"{name}: not a readable Parquet file")
    assert len(listed) == 2 and part.exists()
    assert run_cli("ledger", "check", ledger, "--quarantine") == 1
    assert (ledger / "damaged" / "files" / "part-000001.parquet").is_file()
    assert not part.exists()
    assert run_cli("ledger", "check", ledger) == 0
    capsys.readouterr()
    # The rerun redoes the moved partition: every input once, every output present.
    common = ("--key-file", key_file, "--workers", 1, "--partition-size", 2)
    assert run_cli("run", BASIC, src, "--out", out, *common) == 0
    rows = ledger_rows(ledger)
    assert sorted(Path(r["input_path"]).name for r in rows) == [f"im{i}" for i in range(4)]
    assert len(output_files(out)) == 4
    assert run_cli("report", ledger) == 0
    assert run_cli("verify", "--out", out, "--workers", 1) == 0
