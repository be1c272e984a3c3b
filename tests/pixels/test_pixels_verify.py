"""``deid verify`` re-reads output pixels by OCR and reports identifying header values it
can still read (one line per finding, never the value); ``--pixels all`` for every image."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pixels_synthetic import make_dataset, plant, smooth_background

from deid.cli import main

KEY = "ab" * 32
#: Clean Pixel Data selected for every image, but nothing can be found (no OCR, no
#: regions): the burned-in text stays, which is what the gate must catch.
BLIND = """deid-recipe: 1
extends: {repo}/recipes/basic.yaml
options: [clean-pixel-data]
pixels:
  ocr: false
"""


def _export(folder, name: str = "KOWALSKI^PIOTR", patient_id: str = "PID4815162") -> None:
    folder.mkdir()
    field = (smooth_background((200, 320), seed=4) * 120).astype(np.uint8)
    plant(field, 0, name.replace("^", " "), "top-left", 255, cv2.FONT_HERSHEY_SIMPLEX, 0.6)
    plant(field, 0, patient_id, "bottom-left", 255, cv2.FONT_HERSHEY_SIMPLEX, 0.6)
    ds = make_dataset(field, "MONOCHROME2", 8, modality="CT", burned_in=None)
    ds.PatientName, ds.PatientID = name, patient_id
    ds.save_as(folder / "ct.dcm", enforce_file_format=True)


def _run_and_verify(tmp_path, recipe: str, capsys, *verify_args: str) -> tuple[int, list[str]]:
    key = tmp_path / "key.hex"
    key.write_text(KEY)
    out = tmp_path / "out"
    args = ["run", recipe, str(tmp_path / "in"), "--out", str(out), "--workers", "1"]
    code = main([*args, "--key-file", str(key)])
    assert code == 0
    capsys.readouterr()
    code = main(["verify", "--out", str(out), "--workers", "1", "--recipe", recipe, *verify_args])
    captured = capsys.readouterr()
    return code, [line for line in captured.out.splitlines() if "pixel-data" in line]


def _blind_recipe(tmp_path) -> str:
    path = tmp_path / "blind.yaml"
    path.write_text(BLIND.format(repo=Path(__file__).resolve().parents[2]))
    return str(path)


def test_residual_burned_in_identity_is_reported_without_the_value(tmp_path, capsys) -> None:
    _export(tmp_path / "in")
    code, lines = _run_and_verify(tmp_path, _blind_recipe(tmp_path), capsys)
    assert code == 1
    kinds = {line.rsplit(": ", 1)[1] for line in lines}
    assert {"patient-name", "patient-id"} <= kinds
    assert all(": pixel-data/frame 0: " in line for line in lines)
    joined = "\n".join(lines).upper()
    assert "KOWALSKI" not in joined and "PIOTR" not in joined and "4815162" not in joined


def test_cleaned_output_has_no_pixel_finding(tmp_path, capsys) -> None:
    _export(tmp_path / "in")
    research = str(Path(__file__).resolve().parents[2] / "recipes" / "research.yaml")
    _code, lines = _run_and_verify(tmp_path, research, capsys)
    assert lines == []


def test_pixels_all_reads_images_the_recipe_does_not_clean(tmp_path, capsys) -> None:
    _export(tmp_path / "in")
    basic = str(Path(__file__).resolve().parents[2] / "recipes" / "basic.yaml")
    _code, default_lines = _run_and_verify(tmp_path, basic, capsys)
    assert default_lines == [], "basic does not clean pixels: nothing re-read by default"
    args = ["verify", "--out", str(tmp_path / "out"), "--workers", "1", "--recipe", basic]
    code = main([*args, "--pixels", "all"])
    lines = [line for line in capsys.readouterr().out.splitlines() if "pixel-data" in line]
    assert code == 1 and any(line.endswith(": patient-name") for line in lines)
