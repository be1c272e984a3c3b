"""``deid report LEDGER --html FILE``: the review page, rendered by a real browser."""

from __future__ import annotations

import base64
import re
import shutil
import stat
import subprocess

import cv2
import numpy as np
import pytest
from report_builders import image, run_cli, synthetic_ledger

from deid.pipeline.records import FileRecord
from deid.pipeline.review import PAGE_SIZE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (make test installs it: apt-get install chromium)",
)


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


@needs_chromium
def test_the_page_renders_in_chromium(example_run, tmp_path):
    page = tmp_path / "review.html"
    code, _, err = run_cli("report", example_run["ledger"], "--html", page)
    assert code == 1 and "1 cleaned image(s)" in err  # exit code as the run (one quarantined)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600  # it names input paths
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text)  # self-contained

    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, "--window-size=1200,1800", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr
    picture = cv2.imread(str(shot))
    assert picture is not None and picture.shape[:2] == (1800, 1200)
    assert float(picture.std()) > 10  # not a blank page
    amber = (picture[:, :, 2] > 200) & (picture[:, :, 1] > 170) & (picture[:, :, 0] < 60)
    assert amber.sum() > 50  # the outlined boxes of the cleaned ultrasound are drawn

    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    for element in ('id="counts-status"', 'id="counts-modality"', 'id="counts-reason"',
                    'id="quarantine"', 'id="contact-sheet"'):  # fmt: skip
        assert element in dom
    assert "README.txt" in dom and "not DICOM" in dom
    assert dom.count('<figure class="thumb">') == 1 and "data:image/jpeg;base64," in dom
    assert re.search(r"<td>US</td><td class=\"n\">1</td>", dom)


def _cleaned_ledger(tmp_path, n: int):
    out = tmp_path / "out"
    records = []
    for i in range(n):
        name = f"st/se/{i:04d}.dcm"
        if i != 5:  # the sixth output is missing: a card says so, the page goes on
            image(out / name)
        boxes = [(0, 20, 10, 40, 20, "ocr"), (0, 0, 0, 10, 5, "region")]
        records.append(
            FileRecord(
                f"/gone/in/<script>alert({i})</script>.dcm",
                "written",
                output_path=name,
                modality="OT",
                pixel_boxes=boxes,
                pixel_regions_scrubbed=2,
            )
        )
    records.append(FileRecord("/gone/in/<b>bad</b>", "quarantined", reason="not DICOM: <x>"))
    return synthetic_ledger(tmp_path, records, partition_size=40), out


def test_the_contact_sheet_is_paged_and_built_from_outputs(tmp_path):
    n = 2 * PAGE_SIZE + 5
    ledger, _ = _cleaned_ledger(tmp_path, n)
    page = tmp_path / "p.html"
    code, _, err = run_cli("report", ledger, "--html", page)
    assert code == 1, err
    text = page.read_text()
    assert text.count('<section class="page sheet"') == 3
    assert text.count(" hidden>") == 2  # only the first page is shown
    assert text.count("<button data-page=") == 3
    assert text.count('<figure class="thumb">') == n - 1
    assert "the output file is missing" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert(0)" not in text  # not listed
    assert "&lt;b&gt;bad&lt;/b&gt;" in text and "not DICOM: &lt;x&gt;" in text  # escaped
    # the inputs do not exist: every thumbnail came from the output, the square included
    first = re.search(r'src="data:image/jpeg;base64,([^"]+)"', text).group(1)
    thumb = cv2.imdecode(np.frombuffer(base64.b64decode(first), np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[:2] == (64, 96)
    assert thumb[20, 40].mean() > 150  # the bright square of the output
    assert thumb[50, 10].mean() < 80


@needs_chromium
def test_the_pager_shows_one_page_at_a_time(tmp_path):
    ledger, _ = _cleaned_ledger(tmp_path, PAGE_SIZE + 3)
    page = tmp_path / "p.html"
    assert run_cli("report", ledger, "--html", page)[0] == 1
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'data-page="1" aria-current="true"' in dom or 'aria-current="true" data-page="1"' in dom
    assert re.search(r'<section class="page sheet" data-page="2" hidden', dom)


def test_the_page_is_refused_inside_the_output(tmp_path):
    ledger, out = _cleaned_ledger(tmp_path, 1)
    code, _, err = run_cli("report", ledger, "--html", out / "review.html")
    assert code == 2 and "inside the run's output" in err and not (out / "review.html").exists()


def test_a_multiframe_thumbnail_is_the_first_cleaned_frame(tmp_path):
    from deid.pipeline.review import thumbnail

    path = tmp_path / "cine.dcm"
    image(path, frames=4)
    boxes = [{"frame": 3, "x": 0, "y": 0, "width": 4, "height": 4},
             {"frame": 2, "x": 1, "y": 1, "width": 5, "height": 5},
             {"frame": 2, "x": 9, "y": 9, "width": 5, "height": 5}]  # fmt: skip
    jpeg, index, frames, shown = thumbnail(path, boxes)
    assert (index, frames, shown) == (2, 4, 2) and jpeg[:2] == b"\xff\xd8"
