"""pydicom's and pydicom-data's test files through ``deid run`` + ``deid verify``.

Every file must be accounted for (in the ledger exactly once) and verify must find nothing.
A fast subset runs by default; the whole corpus, under each shipped recipe, with ``-m slow``.
When verify finds a real leak here, the engine is fixed (and a regression test added below),
never the check weakened.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file, get_testdata_files

from deid.cli import main
from deid.recipe import builtin_recipe
from deid.resources import recipes_dir
from deid.verification.check import check_pair
from deid.verifyrun.runner import verify_run

FAST_SUBSET = (
    "CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
    "image_dfl.dcm", "no_meta.dcm", "ExplVR_BigEndNoMeta.dcm", "rtplan.dcm", "rtstruct.dcm",
    "rtdose_1frame.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm", "test-SR.dcm", "reportsi.dcm",
    "nested_priv_SQ.dcm", "priv_SQ.dcm", "UN_sequence.dcm", "badVR.dcm", "waveform_ecg.dcm",
    "emri_small.dcm", "rtplan_truncated.dcm", "MR_truncated.dcm", "meta_missing_tsyntax.dcm",
    "README.txt", "chrH31.dcm", "chrX1.dcm", "chrRuss.dcm", "chrSQEncoding.dcm",
)  # fmt: skip


def corpus() -> list[str]:
    """Every test file and folder, minus entries inside another listed folder."""
    entries = sorted(set(get_testdata_files()) | set(get_charset_files()))
    folders = [e for e in entries if os.path.isdir(e)]
    return [e for e in entries if not any(e.startswith(f + os.sep) for f in folders)]


def _populate(folder: Path, files: list[str]) -> None:
    folder.mkdir()
    for index, path in enumerate(files):
        os.symlink(path, folder / f"{index:03d}_{os.path.basename(path)}")


def _ledger_rows(ledger: Path) -> list[dict]:
    rows: list[dict] = []
    for part in sorted((ledger / "files").glob("part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    return rows


def run_and_verify(tmp_path: Path, files: list[str], recipe: str) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    _populate(inputs, files)
    key = tmp_path / "key"
    key.write_text("ef" * 32)
    code = main(
        ["run", str(recipes_dir() / f"{recipe}.yaml"), str(inputs), "--out", str(out),
         "--key-file", str(key), "--workers", "2", "--partition-size", "40"]
    )  # fmt: skip
    assert code in (0, 1)
    rows = _ledger_rows(Path(f"{out}.ledger"))
    recorded = sorted(row["input_path"] for row in rows)
    walked = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(inputs, followlinks=True)
        for name in names
    )
    assert recorded == walked, "every input in the ledger exactly once"
    for row in rows:
        if row["status"] == "quarantined":
            assert row["reason"] and "\n" not in row["reason"]
    report = verify_run([str(inputs)], out, f"{out}.ledger", workers=2, partition_size=40)
    assert report.inputs == len(walked) and report.ledger_records == len(walked)
    by_output = {row["output_path"]: row["input_path"] for row in rows if row["output_path"]}
    found = sorted(
        (os.path.basename(by_output.get(f.output, f.output)), f.path, f.kind)
        for f in report.findings
    )
    assert not found, found


def test_fast_subset(tmp_path):
    by_name = {os.path.basename(p): p for p in corpus()}
    files = [by_name[name] for name in FAST_SUBSET if name in by_name]
    assert len(files) >= 20
    run_and_verify(tmp_path, files, "basic")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["basic", "research", "retain-uids"])
def test_whole_corpus(tmp_path, recipe):
    run_and_verify(tmp_path, corpus(), recipe)


@pytest.mark.parametrize("name", ["reportsi.dcm", "reportsi_with_empty_number_tags.dcm"])
def test_sr_person_name_in_text_is_cleaned(keys, name):
    """Found by verify on this corpus: a Person Name in a nested SR content item repeated in
    a TEXT item's Text Value survived cleaning (the engine gathered top-level names only)."""
    from verify_data import deidentify_bytes

    recipe = builtin_recipe("basic")
    raw = Path(get_testdata_file(name)).read_bytes()
    original = pydicom.dcmread(io.BytesIO(raw))
    assert check_pair(original, deidentify_bytes(raw, recipe, keys), "sr.dcm", recipe) == []


def test_japanese_name_leak_is_found(keys):
    """ISO 2022 IR 87: the name is found decoded, whatever escape sequences encode it."""
    from verify_data import deidentify_bytes

    recipe = builtin_recipe("basic")
    raw = Path(get_charset_files("chrH31.dcm")[0]).read_bytes()
    original = pydicom.dcmread(io.BytesIO(raw))
    output = deidentify_bytes(raw, recipe, keys)
    assert check_pair(original, output, "jp.dcm", recipe) == []
    family = str(original.PatientName).split("=")[1].split("^")[0]  # ideographic family name
    out = pydicom.dcmread(io.BytesIO(output))
    out.SpecificCharacterSet = original.SpecificCharacterSet
    out.StudyComments = f"see {family}"
    buffer = io.BytesIO()
    out.save_as(buffer, enforce_file_format=True)
    findings = check_pair(original, buffer.getvalue(), "jp.dcm", recipe)
    assert [(f.path, f.kind) for f in findings] == [("StudyComments", "patient-name")]
