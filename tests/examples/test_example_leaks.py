"""End to end on the bundled export: what make_export planted does not come out of deid.

A smoke check across the whole export (the rewrite and verify helpers test the engine in
depth): every planted identifier is gone from every output's text and from its binary
elements (the CSA blob), no original UID survives, references still resolve, and with the
research recipe the burned-in text of the ultrasound frame is gone from the pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from examples_engine import ExportRun, deidentify_export
from make_export import BURNED_IN_TEXT, COMPREHENSIVE_SR, OVERLAY_FILE, PLANTED, US_IMAGE
from pydicom.dataset import Dataset

RECIPES = ("basic", "research")
BINARY_VRS = ("OB", "OW", "UN")


def _text_and_blobs(ds: Dataset) -> tuple[str, bytes]:
    """All decoded values (every level) and the bytes of binary elements but Pixel Data."""
    texts: list[str] = []
    blobs: list[bytes] = []
    for elem in ds.iterall():
        if elem.tag == 0x7FE00010 or elem.VR == "SQ" or elem.value is None:
            continue
        if elem.VR in BINARY_VRS:
            blobs.append(bytes(elem.value))
        else:
            values = elem.value if elem.VM > 1 else [elem.value]
            texts.extend(str(v) for v in values)
    return "\n".join(texts), b"".join(blobs)


def _uids(ds: Dataset) -> set[str]:
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.VR == "UI" and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            found.update(str(v) for v in values if not str(v).startswith("1.2.840.10008."))
    return found


@pytest.fixture(scope="module", params=RECIPES)
def run(
    request: pytest.FixtureRequest,
    example_export: tuple[Path, list[Path]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Path, ExportRun]:
    root, files = example_export
    out = tmp_path_factory.mktemp(f"deid-{request.param}")
    return request.param, root, deidentify_export(request.param, root, files, out)


def test_no_planted_identifier_survives(run: tuple[str, Path, ExportRun]) -> None:
    recipe, root, result = run
    leaks: list[str] = []
    for src, dst in result.outputs.items():
        text, blobs = _text_and_blobs(pydicom.dcmread(dst))
        for label, values in PLANTED.items():
            for value in values:
                in_blob = value.encode("utf-8") in blobs
                if value in text or in_blob:
                    leaks.append(f"{src.relative_to(root)}: {label} {value!r}")
    assert leaks == [], f"{recipe}: planted identifiers in the output\n" + "\n".join(leaks)


def test_no_original_uid_survives(run: tuple[str, Path, ExportRun]) -> None:
    recipe, root, result = run
    originals: set[str] = set()
    for src in result.outputs:
        originals |= _uids(pydicom.dcmread(src, force=True))
    kept = {
        f"{src.relative_to(root)}: {uid}"
        for src, dst in result.outputs.items()
        for uid in _uids(pydicom.dcmread(dst)) & originals
    }
    assert kept == set(), recipe


def test_sr_reference_follows_the_remapped_ct(run: tuple[str, Path, ExportRun]) -> None:
    _, root, result = run
    outs = {
        src.relative_to(root).as_posix(): pydicom.dcmread(dst)
        for src, dst in result.outputs.items()
    }
    sr = outs["PAT1/STUDY1/SER2/IM0001"]
    assert sr.SOPClassUID == COMPREHENSIVE_SR
    ct = outs["PAT1/STUDY1/SER1/IM0002"]  # the image make_export's SR refers to
    refs = [
        item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for item in sr.ContentSequence[-1].ContentSequence
        if item.ValueType == "IMAGE"
    ]
    assert refs == [ct.SOPInstanceUID]
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == ct.StudyInstanceUID


def test_research_removes_burned_in_text(run: tuple[str, Path, ExportRun]) -> None:
    recipe, root, result = run
    if recipe != "research":
        pytest.skip("only the research recipe cleans pixel data")
    pytesseract = pytest.importorskip("pytesseract")
    us = pydicom.dcmread(result.outputs[root / "PAT4/STUDY1/SER1/US000001.dcm"])
    assert us.SOPClassUID == US_IMAGE
    assert us.BurnedInAnnotation == "NO"
    bar = np.ascontiguousarray(us.pixel_array[:48])
    try:
        text = pytesseract.image_to_string(bar, config="--psm 6").upper().replace("O", "0")
    except pytesseract.TesseractNotFoundError:
        pytest.skip("tesseract is not installed")
    for token in BURNED_IN_TEXT:
        assert token.upper().replace("O", "0") not in text, (token, text)


def test_overlay_with_the_name_is_gone(run: tuple[str, Path, ExportRun]) -> None:
    recipe, root, result = run
    ds = pydicom.dcmread(result.outputs[root / OVERLAY_FILE])
    overlay_data = [
        elem.tag for elem in ds if 0x6000 <= elem.tag.group <= 0x601E and elem.tag.element == 0x3000
    ]
    assert overlay_data == [], recipe
