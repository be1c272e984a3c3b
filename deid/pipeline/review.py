"""``deid report LEDGER --html FILE``: one self-contained review page for a coordinator.

The page holds the counts by status, modality and reason, the table of quarantined and
excluded files with their reasons, and a contact sheet of every image whose pixels were
cleaned: the first cleaned frame *of the output file* (the de-identified pixels, never the
input's) with each removed box outlined. Thumbnails are inline JPEGs (``data:`` URIs) and
the page has no external reference at all, so it can be mailed or archived as one file.

Decisions:

* The contact sheet is paged (:data:`PAGE_SIZE` images a page, a pager at its top): all pages
  are in the file, only the shown one is displayed and its images are ``loading="lazy"``, so
  a run with thousands of cleaned images stays usable. Without JavaScript every page shows.
* The page is streamed to a temp file beside ``FILE`` and renamed (atomic), one thumbnail
  at a time, so its size never sits in memory.
* The quarantine table names input paths, which in real exports carry patient names: the
  page is as private as the ledger (written 0o600, refused inside the run's output).
* A thumbnail that cannot be made (output missing, a codec error) is a card saying so: the
  page never stops for one image.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pyarrow.compute as pc

from deid.atomic import atomic_path
from deid.errors import UserError
from deid.pipeline.ledger import iter_parts, read_run_json
from deid.pipeline.listing import read_part
from deid.pipeline.records import STATUSES
from deid.storage.remote import Where

PAGE_SIZE = 48
THUMB_SIZE = 256  # longest side, pixels
BOX_COLOR = (0, 215, 255)  # BGR: amber, visible on black fill and on grey images


@dataclass
class ReviewCounts:
    status: Counter = field(default_factory=Counter)
    modality: dict[str, Counter] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # (status, reason) -> n
    cleaned: int = 0


def _boxes(value) -> list[dict]:
    """``pixel_boxes`` as dicts; ledgers from before the typed column hold JSON text."""
    if not value:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
        keys = ("frame", "x", "y", "width", "height")
        return [dict(zip(keys, box)) for box in value if isinstance(box, list)]
    return list(value)


def count(ledger: Where) -> ReviewCounts:
    counts = ReviewCounts()
    for part in iter_parts(ledger, "files"):
        table = read_part(part, ["status", "reason", "modality", "pixel_regions_scrubbed"])
        statuses = table.column("status").to_pylist()
        reasons = table.column("reason").to_pylist()
        modalities = table.column("modality").to_pylist()
        scrubbed = table.column("pixel_regions_scrubbed").to_pylist()
        for status, reason, modality, boxes in zip(statuses, reasons, modalities, scrubbed):
            counts.status[status] += 1
            counts.modality.setdefault(modality or "(none)", Counter())[status] += 1
            if status in ("quarantined", "excluded"):
                counts.reasons[(status, reason or "(no reason)")] += 1
            if status == "written" and boxes:
                counts.cleaned += 1
    return counts


def _cleaned_rows(ledger: Where) -> Iterator[dict]:
    columns = ["input_path", "status", "output_path", "pixel_boxes", "modality"]
    for part in iter_parts(ledger, "files"):
        table = read_part(part, columns)
        table = table.filter(pc.equal(table.column("status"), "written"))
        for row in table.sort_by([("output_path", "ascending")]).to_pylist():
            boxes = _boxes(row["pixel_boxes"])
            if boxes and row["output_path"]:
                row["pixel_boxes"] = boxes
                yield row


def _listed_rows(ledger: Where) -> Iterator[dict]:
    for part in iter_parts(ledger, "files"):
        table = read_part(part, ["input_path", "status", "reason"])
        mask = pc.is_in(table.column("status"), value_set=_pa_strings("quarantined", "excluded"))
        yield from table.filter(mask).sort_by([("input_path", "ascending")]).to_pylist()


def _pa_strings(*values: str):
    import pyarrow as pa

    return pa.array(values, pa.string())


# -- thumbnails ------------------------------------------------------------------------------
def _to_uint8(frame):
    import numpy as np

    array = np.asarray(frame)
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float64)
    low, high = float(np.nanmin(array)), float(np.nanmax(array))
    if high <= low:
        return np.zeros(array.shape, np.uint8)
    return ((array - low) * (255.0 / (high - low))).clip(0, 255).astype(np.uint8)


def thumbnail(path: Path, boxes: list[dict]) -> tuple[bytes, int, int, int]:
    """JPEG bytes of the output's first cleaned frame, boxes outlined; (jpeg, frame index,
    frames, boxes on that frame). Raises on any failure (the caller shows a card)."""
    import cv2
    import numpy as np
    import pydicom

    ds = pydicom.dcmread(path)
    frames = int(ds.get("NumberOfFrames") or 1)
    index = min(int(b["frame"]) for b in boxes)
    from pydicom.pixels import pixel_array

    index = min(index, frames - 1)
    # one frame decoded, not the whole cine loop of a multi-frame file
    frame = pixel_array(ds, index=index if frames > 1 else None)
    samples = int(ds.get("SamplesPerPixel") or 1)
    image = _to_uint8(frame)
    if samples == 1:
        if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
            image = 255 - image
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    rows, columns = image.shape[:2]
    scale = min(1.0, THUMB_SIZE / max(rows, columns))
    if scale < 1.0:
        size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    shown = [b for b in boxes if int(b["frame"]) == index]
    for box in shown:
        x0, y0 = int(box["x"] * scale), int(box["y"] * scale)
        x1 = int((box["x"] + box["width"]) * scale)
        y1 = int((box["y"] + box["height"]) * scale)
        cv2.rectangle(image, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), BOX_COLOR, 2)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes(), index, frames, len(shown)


# -- the page --------------------------------------------------------------------------------
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555}.sheet{display:flex;flex-wrap:wrap;gap:10px}
figure.thumb{margin:0;width:260px;background:#fff;border:1px solid #ccc;padding:4px}
figure.thumb img{display:block;max-width:256px;max-height:256px;background:#000}
figure.thumb figcaption{font-size:12px;word-break:break-all}
figure.failed{border-color:#c60}
#pager button{margin:0 2px 6px 0}#pager button[aria-current=true]{font-weight:bold}
"""

_SCRIPT = """
(function(){
  var pages=document.querySelectorAll('section.page');
  var buttons=document.querySelectorAll('#pager button');
  function show(n){
    pages.forEach(function(p){p.hidden=(p.dataset.page!==String(n));});
    buttons.forEach(function(b){b.setAttribute('aria-current',b.dataset.page===String(n));});
  }
  buttons.forEach(function(b){b.addEventListener('click',function(){show(b.dataset.page);});});
  show(1);
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(out: TextIO, table_id: str, head: list[str], rows: list[list[object]]) -> None:
    out.write(f'<table id="{table_id}"><thead><tr>')
    out.write("".join(f"<th>{_e(h)}</th>" for h in head))
    out.write("</tr></thead><tbody>\n")
    for row in rows:
        cells = []
        for value in row:
            kind = ' class="n"' if isinstance(value, int) else ""
            cells.append(f"<td{kind}>{_e(value)}</td>")
        out.write("<tr>" + "".join(cells) + "</tr>\n")
    out.write("</tbody></table>\n")


def _figure(out: TextIO, out_dir: Where, row: dict) -> None:
    name = row["output_path"]
    boxes = row["pixel_boxes"]
    sources = Counter(b.get("source") or "ocr" for b in boxes)
    how = ", ".join(f"{n} {s}" for s, n in sorted(sources.items()))
    try:
        jpeg, index, frames, shown = thumbnail(out_dir / name, boxes)
    except Exception as error:  # one image never stops the page
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, FileNotFoundError):
            reason = "the output file is missing"
        out.write(
            f'<figure class="thumb failed"><figcaption><b>cannot show</b> {_e(name)}: '
            f"{_e(reason)}</figcaption></figure>\n"
        )
        return
    data = base64.b64encode(jpeg).decode("ascii")
    where = f"frame {index + 1} of {frames}, " if frames > 1 else ""
    out.write(
        f'<figure class="thumb"><img loading="lazy" alt="{_e(name)}" '
        f'src="data:image/jpeg;base64,{data}"><figcaption>{_e(name)}<br>'
        f"{where}{shown} of {len(boxes)} box(es) outlined ({_e(how)})</figcaption></figure>\n"
    )


def _refuse_inside_output(target: Path, out_dir: Path | None) -> None:
    if out_dir is None:
        return
    shared = Path(os.path.realpath(out_dir))
    where = Path(os.path.realpath(target.parent)) / target.name
    if shared in where.parents:
        raise UserError(
            f"{target} is inside the run's output {out_dir}: the page names input paths; "
            "write it somewhere private"
        )


def write_review(ledger: Where, target: Path, out_dir: Path | None = None) -> dict[str, int]:
    """Write the page; returns what it holds (for the command's one-line note)."""
    run = read_run_json(ledger) or {}
    if out_dir is None and run.get("out"):
        out_dir = Path(run["out"])
    _refuse_inside_output(target, out_dir)
    counts = count(ledger)
    with contextlib.ExitStack() as placing:  # the page takes its name only when whole
        try:
            temp = placing.enter_context(atomic_path(target, 0o600, suffix=".tmp"))
        except OSError as error:
            raise UserError(f"cannot write {target}: {error.strerror}") from None
        with open(temp, "w", encoding="utf-8") as out:
            listed = _write_page(out, ledger, run, counts, out_dir)
    return {"files": sum(counts.status.values()), "listed": listed, "images": counts.cleaned}


def _write_page(
    out: TextIO, ledger: Where, run: dict, counts: ReviewCounts, out_dir: Path | None
) -> int:
    total = sum(counts.status.values())
    out.write('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n')
    out.write('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    out.write(f"<title>deid review: {_e(ledger.name)}</title><style>{_STYLE}</style></head>\n")
    out.write('<body>\n<h1 id="title">deid review</h1>\n<p class="note">')
    recipe = run.get("recipe_name") or run.get("recipe_path") or "?"
    out.write(
        f"Ledger {_e(ledger)}; output {_e(out_dir or '(unknown)')}; run state "
        f"{_e(run.get('state', '(no run.json)'))}; recipe {_e(recipe)}; "
        f"page written {_e(dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))}."
        " This page names input paths: keep it as private as the ledger.</p>\n"
    )
    out.write("<h2>Files by status</h2>\n")
    status_rows: list[list[object]] = [[s, counts.status.get(s, 0)] for s in STATUSES]
    status_rows.append(["total", total])
    _table(out, "counts-status", ["status", "files"], status_rows)

    out.write("<h2>Files by modality</h2>\n")
    modality_rows: list[list[object]] = [
        [m, *(c.get(s, 0) for s in STATUSES), sum(c.values())]
        for m, c in sorted(counts.modality.items())
    ]
    _table(out, "counts-modality", ["modality", *STATUSES, "total"], modality_rows)

    out.write("<h2>Files by reason</h2>\n")
    reason_rows: list[list[object]] = [
        [status, reason, n] for (status, reason), n in counts.reasons.most_common()
    ]
    _table(out, "counts-reason", ["status", "reason", "files"], reason_rows)

    out.write("<h2>Quarantined and excluded files</h2>\n")
    out.write('<table id="quarantine"><thead><tr><th>input</th><th>status</th>')
    out.write("<th>reason</th></tr></thead><tbody>\n")
    listed = 0
    for row in _listed_rows(ledger):
        listed += 1
        out.write(
            f"<tr><td>{_e(row['input_path'])}</td><td>{_e(row['status'])}</td>"
            f"<td>{_e(row['reason'] or '')}</td></tr>\n"
        )
    out.write("</tbody></table>\n")
    if not listed:
        out.write('<p class="note">None.</p>\n')

    pages = max(1, -(-counts.cleaned // PAGE_SIZE))
    out.write(
        f'<h2>Cleaned pixels: {counts.cleaned} image(s)</h2>\n<p class="note">Each picture '
        "is the de-identified output frame (read from the output, never the input) with the "
        "removed boxes outlined in amber.</p>\n"
    )
    out.write('<div id="contact-sheet">\n')
    if pages > 1:
        out.write('<nav id="pager">')
        out.write("".join(f'<button data-page="{n}">{n}</button>' for n in range(1, pages + 1)))
        out.write("</nav>\n")
    page_open = False
    for shown, row in enumerate(_cleaned_rows(ledger)):
        if shown % PAGE_SIZE == 0:
            if page_open:
                out.write("</section>\n")
            page = shown // PAGE_SIZE + 1
            hidden = " hidden" if page > 1 else ""
            out.write(f'<section class="page sheet" data-page="{page}"{hidden}>\n')
            page_open = True
        if out_dir is None:
            out.write(
                f'<figure class="thumb failed"><figcaption>{_e(row["output_path"])}: the '
                "ledger names no output folder; pass --out</figcaption></figure>\n"
            )
        else:
            _figure(out, out_dir, row)
    if page_open:
        out.write("</section>\n")
    else:
        out.write('<p class="note">No image had pixels cleaned.</p>\n')
    out.write("</div>\n")
    out.write("<noscript><style>section.page[hidden]{display:flex}</style></noscript>\n")
    out.write(f"<script>{_SCRIPT}</script>\n</body></html>\n")
    return listed
