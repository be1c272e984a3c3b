"""Every output is searched for the identities of all inputs of the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from verify_data import make_dataset, to_bytes

from deid.cli import main
from deid.resources import recipes_dir
from deid.verification import crossindex
from deid.verifyrun.runner import verify_run

OTHER = "Wojciechowska^Henrietta"


@pytest.fixture(scope="module")
def run_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("verify-cross")
    inputs = root / "in"
    inputs.mkdir()
    (inputs / "a.dcm").write_bytes(to_bytes(make_dataset(1)))
    (inputs / "b.dcm").write_bytes(
        to_bytes(make_dataset(1, study=2, patient_id="PID-5550001", patient_name=OTHER))
    )
    key = root / "key"
    key.write_text("cd" * 32)
    research = str(recipes_dir() / "research.yaml")
    out = str(root / "out")
    code = main(
        ["run", research, str(inputs), "--out", out, "--key-file", str(key), "--workers", "1"]
    )
    assert code == 0
    return root


def _tampered(run_tree: Path, tmp_path: Path, text: str) -> Path:
    shutil.copytree(run_tree / "out", tmp_path / "out")
    shutil.copytree(run_tree / "out.ledger", tmp_path / "out.ledger")
    for path in sorted((tmp_path / "out").rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.ImageComments = text
        ds.save_as(path)
        break
    return tmp_path


@pytest.mark.parametrize("workers", [1, 2])
def test_clean_run_is_clean(run_tree, workers) -> None:
    report = verify_run(
        [str(run_tree / "in")], run_tree / "out", run_tree / "out.ledger", workers=workers
    )
    assert report.clean, [f.line() for f in report.findings]


def test_another_patients_name_in_a_comment_is_found(run_tree, tmp_path) -> None:
    tree = _tampered(run_tree, tmp_path, "compare with wojciechowska henrietta")
    report = verify_run([str(run_tree / "in")], tree / "out", tree / "out.ledger", workers=1)
    kinds = {(f.path, f.kind) for f in report.findings}
    assert ("ImageComments", "other-patient") in kinds or (
        "ImageComments",
        "patient-name",
    ) in kinds


def test_every_output_is_checked_against_every_input(run_tree, tmp_path) -> None:
    """Both outputs get the other patient's surname: one finds it as its own (per-file
    check), the other only through the run's index."""
    shutil.copytree(run_tree / "out", tmp_path / "out")
    shutil.copytree(run_tree / "out.ledger", tmp_path / "out.ledger")
    for path in (tmp_path / "out").rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        ds.ImageComments = "see note from Wojciechowska"
        ds.save_as(path)
    report = verify_run(
        [str(run_tree / "in")], tmp_path / "out", tmp_path / "out.ledger", workers=1
    )
    kinds = sorted(f.kind for f in report.findings if f.path == "ImageComments")
    assert "other-patient" in kinds and "patient-name" in kinds


def test_index_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(crossindex, "MAX_TERMS", 10)
    parts = [np.arange(8, dtype=np.uint64), np.arange(5, 20, dtype=np.uint64)]
    index, cut = crossindex.merge(parts)
    assert cut and len(index) == 10 and list(index) == sorted(index)
    index, cut = crossindex.merge([np.arange(3, dtype=np.uint64)])
    assert not cut and len(index) == 3


def test_common_words_are_not_terms() -> None:
    ds = make_dataset(patient_name="Rose^Maria")
    from deid.recipe import builtin_recipe

    terms = crossindex.terms_of(ds, builtin_recipe("research"))
    assert "rose maria" in terms and "rose" not in terms and "maria" not in terms


def test_run_verify_searches_other_inputs_of_the_partition(tmp_path) -> None:
    """``deid run --verify``: an output holding another input's name (in a value its recipe
    keeps verbatim, so the engine leaves it) is quarantined, not written."""
    import pyarrow.parquet as pq

    inputs = tmp_path / "in"
    inputs.mkdir()
    # The kept comment of a and b must hold nothing of their own: make_dataset's default
    # names the study date, which the per-file check rightly reports once it is kept.
    first = make_dataset(1)
    first.ImageComments = "routine follow-up"
    (inputs / "a.dcm").write_bytes(to_bytes(first))
    other = make_dataset(1, study=2, patient_id="PID-5550001", patient_name=OTHER)
    other.ImageComments = "routine follow-up"
    (inputs / "b.dcm").write_bytes(to_bytes(other))
    mine = make_dataset(2)
    mine.ImageComments = "compare with wojciechowska henrietta"
    (inputs / "c.dcm").write_bytes(to_bytes(mine))
    recipe = tmp_path / "keep.yaml"
    recipe.write_text(
        "deid-recipe: 1\nextends: research\nattributes:\n  ImageComments: K\n", "utf-8"
    )
    key = tmp_path / "key"
    key.write_text("cd" * 32)
    out = tmp_path / "out"
    code = main(
        ["run", str(recipe), str(inputs), "--out", str(out), "--key-file", str(key),
         "--workers", "1", "--verify"]
    )  # fmt: skip
    assert code in (0, 1)
    rows = []
    for part in sorted((tmp_path / "out.ledger" / "files").glob("part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    status = {Path(r["input_path"]).name: (r["status"], r["reason"] or "") for r in rows}
    assert len(rows) == 3, rows
    assert status["c.dcm"][0] == "quarantined" and "other-patient" in status["c.dcm"][1]
    assert status["a.dcm"][0] == "written" and status["b.dcm"][0] == "written", status
