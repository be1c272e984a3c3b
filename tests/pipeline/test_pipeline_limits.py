"""One file never takes the machine: oversized frames refused before decoding, overlong
values refused before anything reads them, and a memory limit on every per-file child."""

from __future__ import annotations

import pickle
import struct
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pipeline_builders import BASIC, HEX_KEY, make_image, save
from pipeline_helpers import ledger_rows, run_cli
from pydicom.encaps import encapsulate
from pydicom.uid import ImplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit

from deid.pipeline import ledger as ledger_mod
from deid.pipeline.limits import MIB, Limits, codestream_frame_bytes
from deid.pipeline.partition import RunSetup, run_partition
from deid.recipe import load_recipe
from deid.rewrite.keyring import KeyRing

HOG_CHILD = (sys.executable, str(Path(__file__).with_name("pipeline_hog_child.py")))


def _jpeg_claiming(height: int, width: int) -> bytes:
    """A 21-byte JPEG: SOI, a baseline frame header claiming height x width, EOI."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def _j2k_claiming(height: int, width: int) -> bytes:
    siz = struct.pack(">HH8IH", 41, 0, width, height, 0, 0, width, height, 0, 0, 1)
    return b"\xff\x4f\xff\x51" + siz + b"\x07\x01\x01" + b"\xff\xd9"


def _compressed(path: Path, rows: int, columns: int, frame: bytes, syntax) -> Path:
    ds = make_image()
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return save(ds, path, syntax=syntax)


def test_codestream_headers_are_read_without_decoding() -> None:
    assert codestream_frame_bytes(_jpeg_claiming(65535, 65535)) == 65535 * 65535
    assert codestream_frame_bytes(_jpeg_claiming(8, 8)) == 64
    assert codestream_frame_bytes(_j2k_claiming(40000, 50000)) == 40000 * 50000
    assert codestream_frame_bytes(b"\x00\x01garbage") == 0


def test_oversized_frames_and_values_are_quarantined_before_decoding(
    tmp_path, key_file, capsys
) -> None:
    src = tmp_path / "in"
    _compressed(src / "jpeg_header", 65535, 65535, _jpeg_claiming(65535, 65535), JPEGBaseline8Bit)
    _compressed(src / "jpeg_liar", 8, 8, _jpeg_claiming(65535, 65535), JPEGBaseline8Bit)
    _compressed(src / "j2k_liar", 8, 8, _j2k_claiming(60000, 60000), JPEG2000Lossless)
    # Only implicit VR can hold it: explicit PN has a 2-byte length.
    save(
        make_image(patient_name="A" * 10_000_000), src / "long_name", syntax=ImplicitVRLittleEndian
    )
    save(make_image(), src / "normal")
    assert (src / "jpeg_liar").stat().st_size < 2000
    started = time.monotonic()
    code = run_cli(
        "run", BASIC, src, "--out", tmp_path / "out", "--key-file", key_file, "--workers", 1
    )
    assert code == 1
    assert time.monotonic() - started < 60  # not the 100 s the long name once took
    rows = {Path(r["input_path"]).name: r for r in ledger_rows(tmp_path / "out.ledger")}
    assert rows["normal"]["status"] == "written"
    for name in ("jpeg_header", "jpeg_liar", "j2k_liar"):
        assert rows[name]["status"] == "quarantined"
        assert rows[name]["reason"].startswith("pixel data too large: 1 frame(s) of "), name
        assert rows[name]["reason"].endswith(
            "over the limit of 1024 MiB (--max-pixel-mb); refused before decoding"
        )
    assert rows["long_name"]["reason"] == (
        "element value too long: (0010,0010) PN of 10000000 bytes, over the limit of "
        "1024 KiB (--max-value-kb)"
    )
    assert "AAAA" not in capsys.readouterr().err


def test_the_limits_are_options(tmp_path, key_file, capsys) -> None:
    src = tmp_path / "in"
    save(make_image(patient_name="B" * 3000, size=64), src / "a", syntax=ImplicitVRLittleEndian)
    out = tmp_path / "out"
    code = run_cli(
        *("run", BASIC, src, "--out", out, "--key-file", key_file, "--workers", 1),
        *("--max-value-kb", 2, "--max-pixel-mb", 1),
    )
    assert code == 1
    (row,) = ledger_rows(tmp_path / "out.ledger")
    assert row["reason"].startswith("element value too long: (0010,0010) PN of 3000 bytes")
    # Raising the limit on a rerun retries exactly the partitions it had quarantined files in.
    common = ("run", BASIC, src, "--out", out, "--key-file", key_file, "--workers", 1)
    capsys.readouterr()
    assert run_cli(*common, "--max-value-kb", 2, "--max-pixel-mb", 1) == 1
    assert "nothing to do" in capsys.readouterr().err
    assert run_cli(*common, "--max-value-kb", 4) == 0
    err = capsys.readouterr().err
    assert "0 partition(s) already done, skipped; 1 to do (1 quarantined files under lower " in err
    (row,) = ledger_rows(tmp_path / "out.ledger")
    assert row["status"] == "written"
    assert run_cli(*common, "--max-value-kb", 8) == 0  # nothing was refused: nothing to redo
    assert "nothing to do" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # a usage error, as argparse gives it
        run_cli("run", BASIC, src, "--out", out, "--max-value-kb", "-1")
    assert refused.value.code == 2


def _setup(tmp_path: Path, child_memory_mb: int) -> RunSetup:
    recipe = load_recipe(BASIC)
    ledger = tmp_path / f"ledger-{child_memory_mb}"
    ledger_mod.ensure_ledger(ledger)
    return RunSetup(
        recipe_pickle=pickle.dumps(recipe),
        recipe_digest=recipe.digest,
        keys=KeyRing(bytes.fromhex(HEX_KEY)),
        out_dir=str(tmp_path / f"out-{child_memory_mb}"),
        ledger_dir=str(ledger),
        verify=False,
        file_timeout=60,
        child_command=HOG_CHILD,
        limits=Limits(child_memory_bytes=child_memory_mb * MIB),
    )


@pytest.mark.parametrize("child_memory_mb", [4096, 0])
def test_each_child_has_a_memory_limit(tmp_path, child_memory_mb) -> None:
    paths = [str(save(make_image(), tmp_path / "in" / n)) for n in ("HOG", "plain")]
    setup = _setup(tmp_path, child_memory_mb)
    summary = run_partition(0, "h", paths, setup)
    part = ledger_mod.part_path(Path(setup.ledger_dir), "files", 0)
    rows = {Path(r["input_path"]).name: r for r in pq.read_table(part).to_pylist()}
    assert rows["plain"]["status"] == "written"
    if child_memory_mb:
        assert summary["status"] == {"quarantined": 1, "written": 1}
        assert rows["HOG"]["reason"] == (
            "MemoryError: over the per-file memory limit of 4096 MiB (--child-memory-mb)"
        )
    else:  # no limit: the 6 GiB of address space is granted (and never touched)
        assert summary["status"] == {"written": 2}
