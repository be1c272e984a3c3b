"""``deid pixels preview`` writes a PNG with red boxes and never prints the text read."""

from __future__ import annotations

import cv2
import numpy as np
from pixels_helpers import build

from deid.cli import main

RECIPE = """deid-recipe: 1
extends: basic.yaml
options: [clean-pixel-data]
pixels:
  clean:
    - {Modality: US}
"""


def _recipe(tmp_path) -> str:
    path = tmp_path / "pixels.yaml"
    path.write_text(RECIPE)
    return str(path)


def _preview(tmp_path, source, out, *extra: str) -> int:
    """``deid pixels preview SOURCE --recipe <test recipe> --out OUT [extra...]``."""
    args = ["pixels", "preview", str(source), "--recipe", _recipe(tmp_path), "--out", str(out)]
    return main([*args, *extra])


def test_preview_writes_png(tmp_path, capsys) -> None:
    ds, _ = build("mono8", lines=("NGUYEN^LI", "ID 99812345"))
    ds.Modality = "US"
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    before = source.read_bytes()
    out = tmp_path / "sub" / "preview.png"

    code = _preview(tmp_path, source, out)

    printed = capsys.readouterr().out
    assert code == 0 and out.is_file()
    image = cv2.imread(str(out))
    assert image.shape[:2] == (192, 256)
    red = (image[..., 2] == 255) & (image[..., 1] == 0) & (image[..., 0] == 0)
    assert red.sum() > 50
    assert "2 box(es) on frame 0" in printed
    assert "NGUYEN" not in printed.upper() and "99812345" not in printed
    assert source.read_bytes() == before, "preview must not modify its input"


def test_preview_bad_frame_is_one_line_error(tmp_path, capsys) -> None:
    ds, _ = build("mono8")
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    code = _preview(tmp_path, source, tmp_path / "p.png", "--frame", "4")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "frame" in err
    assert not np.any([p.name.endswith(".png") for p in tmp_path.iterdir()])


def test_preview_detection_crash_is_one_line_without_its_message(
    tmp_path, capsys, monkeypatch
) -> None:
    import deid.pixels.clean as clean_module

    def crash(*_args, **_kwargs):
        raise RuntimeError("read NGUYEN^LI here")

    monkeypatch.setattr(clean_module, "detect_text", crash)
    ds, _ = build("mono8")
    source = tmp_path / "in.dcm"
    ds.save_as(source, enforce_file_format=True)
    code = _preview(tmp_path, source, tmp_path / "p.png")
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1
    assert "RuntimeError" in err and "NGUYEN" not in err
