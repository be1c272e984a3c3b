"""IOD-validity harness: de-identification must not make a valid object invalid.

For every DICOM file of the bundled export and for the ``basic`` and ``research`` recipes,
the output's dciodvfy "Error" lines (normalised: values dropped, see
``examples/dciodvfy_check.py``) must be a subset of the input's. The inputs themselves
carry no error (``make_export`` is built to pass), so in practice any error is a regression.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from dciodvfy_check import dciodvfy_available, dciodvfy_errors, normalise
from examples_engine import deidentify_export, dicom_inputs
from make_export import CT_IMAGE

pytestmark = pytest.mark.skipif(
    not dciodvfy_available(), reason="dciodvfy (Debian dicom3tools) is not installed"
)

RECIPES = ("basic", "research")


def test_normalise_drops_values_keeps_the_error() -> None:
    a = (
        "Error - Value invalid for this VR - (0x0020,0x0032) DS Image Position (Patient)  "
        "DS [1] = <-76.80000000000001> - Length invalid for this VR = 18, expected <= 16"
    )
    b = a.replace("-76.80000000000001", "12.345678901234567").replace("= 18", "= 18")
    assert normalise(a) == normalise(b)
    assert "<-76.8" not in normalise(a)
    assert "Image Position (Patient)" in normalise(a)
    other = a.replace("DS [1]", "DS [2]")
    assert normalise(other) != normalise(a)  # which value is wrong still counts


def test_every_example_input_is_error_free(example_export: tuple[Path, list[Path]]) -> None:
    root, files = example_export
    found = {f.relative_to(root).as_posix(): dciodvfy_errors(f) for f in dicom_inputs(files)}
    assert {k: v for k, v in found.items() if v} == {}
    assert len(found) == 16


@pytest.mark.filterwarnings("ignore:The value length")
def test_harness_sees_a_broken_object(
    example_export: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """The check can fail: a CT without its Type 1 Rescale Slope and with a bad DS."""
    root, _ = example_export
    ds = pydicom.dcmread(root / "PAT1/STUDY1/SER1/IM0001")
    assert ds.SOPClassUID == CT_IMAGE
    del ds.RescaleSlope
    ds["SliceLocation"].value = "-76.80000000000001"  # 18 characters: too long for DS
    broken = tmp_path / "broken.dcm"
    settings = pydicom.config.settings
    before = settings.writing_validation_mode
    settings.writing_validation_mode = pydicom.config.IGNORE
    try:
        ds.save_as(broken)
    finally:
        settings.writing_validation_mode = before
    errors = dciodvfy_errors(broken)
    assert any("RescaleSlope" in e for e in errors), errors
    assert any("Slice Location" in e and "[1] = <>" in e for e in errors), errors


@pytest.mark.parametrize("recipe_name", RECIPES)
def test_deidentified_output_adds_no_iod_error(
    recipe_name: str, example_export: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, files = example_export
    run = deidentify_export(recipe_name, root, files, tmp_path)
    # Every example file is meant to be de-identifiable: a quarantine is a finding too.
    assert run.quarantined == {}
    assert [src.name for src in run.excluded] == ["IM0001"]  # the PDF, SER3
    regressions = [
        f"{src.relative_to(root).as_posix()}: {error}"
        for src, dst in run.outputs.items()
        for error in sorted(dciodvfy_errors(dst) - dciodvfy_errors(src))
    ]
    assert regressions == [], f"{recipe_name}: new dciodvfy errors\n" + "\n".join(regressions)
