"""Clean Pixel Data for one dataset: decide, detect, fill, re-encode only what changed.

Order of decisions (each one is a single reason in the outcome):

0. Clean Pixel Data on with ``overlays: scan``: every file's overlay planes are scanned
   first, whatever follows (the engine keeps Overlay Data on that setting alone).
1. No Pixel Data, or the recipe's Clean Pixel Data is off: pixels unchanged.
2. No ``clean_when`` condition matches (an empty ``clean_when`` matches every file): the
   file is only *checked*: its header, not its pixels. Burned In Annotation = YES then
   means quarantine unless ``burned_in_unmatched == "keep"``.
3. Pixels that cannot be decoded: quarantine.
4. Fixed regions (device signatures) + text the learned detector outlines and its reader
   confirms in the windows the cheap screen flags (and, for colour, in the frames' whiteness
   read whole) + text-like blobs outside the declared ultrasound image area are filled on
   every frame with the margin.
5. Nothing found: Pixel Data is not touched at all (same bytes, same syntax). If the file
   says Burned In Annotation = YES we could not find what it declares: quarantine.
6. Something filled: frames written back losslessly, Burned In Annotation = NO.
"""

from __future__ import annotations

import pydicom

from deid.dicom.syntax import transfer_syntax_of
from deid.pixels.codec import CannotRewrite, write_frames
from deid.pixels.detect import detect_text, detect_white_text
from deid.pixels.ocr import OcrCache
from deid.pixels.outcome import Box, PixelOutcome
from deid.pixels.overlays import scan_overlays
from deid.pixels.ppocr import ensure_available as ensure_detector
from deid.pixels.regions import fixed_boxes, pad_box, ultrasound_image_mask
from deid.pixels.render import Frames, UnsupportedPixels, fill_value, load_frames, renderings
from deid.pixels.tesseract import OcrUnavailable
from deid.pixels.wholeframe import wanted as wholeframe_wanted
from deid.recipe.model import PixelSettings

UNMATCHED_REASON = "Burned In Annotation = YES but no pixel cleaning rule matches"
NOT_FOUND_REASON = "Burned In Annotation = YES but no burned-in text was found to remove"


def declares_burned_in(ds: pydicom.Dataset) -> bool:
    return str(ds.get("BurnedInAnnotation", "") or "").strip().upper() == "YES"


def selected_for_cleaning(ds: pydicom.Dataset, settings: PixelSettings) -> bool:
    """Whether a clean_when condition matches (an empty list selects every file)."""
    if not settings.clean_when:
        return True
    return any(condition.matches(ds) for condition in settings.clean_when)


def find_boxes(
    ds: pydicom.Dataset,
    frames: Frames,
    settings: PixelSettings,
    cache: OcrCache | None = None,
) -> list[Box]:
    """Every rectangle to fill, with the margin, clipped to the image, frame by frame."""
    count, rows, columns = frames.stored.shape[:3]
    raw: list[Box] = []
    for x, y, w, h in fixed_boxes(ds, settings.regions):
        raw.extend((f, x, y, w, h) for f in range(count))
    if settings.ocr:
        gray, white = renderings(ds, frames)
        area = ultrasound_image_mask(ds, rows, columns)
        # Lines already judged in an earlier file of the series are not looked at again.
        series = str(ds.get("SeriesInstanceUID", "") or "") or None
        whole = wholeframe_wanted(ds, frames.photometric_in)
        found = detect_text(gray, settings.allow_tokens, area, cache, series, whole_frame=whole)
        if white is not None:
            found += detect_white_text(white, settings.allow_tokens, cache, found)
        raw.extend((f.frame, *f.box) for f in found)
    boxes: set[Box] = set()
    for f, *box in raw:
        padded = pad_box(box, settings, rows, columns)
        if padded is not None:
            boxes.add((f, *padded))
    return sorted(boxes)


def fill_boxes(frames: Frames, boxes: list[Box], value: int | tuple[int, int, int]) -> None:
    """Paint every box with ``value`` in the stored representation (in place)."""
    if not frames.stored.flags.writeable:
        frames.stored = frames.stored.copy()
    for f, x, y, w, h in boxes:
        frames.stored[f, y : y + h, x : x + w] = value


def _detection_failed(error: Exception) -> str:
    """The quarantine reason for a crash in detection: the type only, never a library's
    message (it can quote what it choked on); our own engine reasons are value-free."""
    if isinstance(error, OcrUnavailable):
        return str(error)
    return f"text detection failed ({type(error).__name__})"


def clean_pixels(
    ds: pydicom.Dataset, settings: PixelSettings, cache: OcrCache | None = None
) -> PixelOutcome:
    """Clean (or only check) the burned-in text of ``ds``; see the module docstring.

    Called on the original dataset, before header rewriting. Never raises for bad pixel
    data: problems come back as ``quarantine_reason``.
    """
    ts_in = str(transfer_syntax_of(ds))
    if not settings.enabled:
        return PixelOutcome(False, [], ts_in, checked_only="PixelData" in ds)
    # The engine keeps Overlay Data whenever the recipe scans overlays, so every file's
    # overlays are scanned here: with or without Pixel Data, selected or only checked.
    overlay_boxes: list[Box] = []
    if settings.overlays == "scan":
        try:
            overlay_boxes = scan_overlays(ds, settings, cache)
        except Exception as error:  # detection failure must not stop a batch, nor pass a file
            return PixelOutcome(False, [], ts_in, quarantine_reason=_detection_failed(error))
    if "PixelData" not in ds:
        return PixelOutcome(False, [], ts_in, overlay_boxes=overlay_boxes)
    burned = declares_burned_in(ds)
    if not selected_for_cleaning(ds, settings):
        reason = UNMATCHED_REASON if burned and settings.burned_in_unmatched != "keep" else None
        return PixelOutcome(
            False,
            [],
            ts_in,
            quarantine_reason=reason,
            checked_only=True,
            overlay_boxes=overlay_boxes,
        )
    if settings.ocr:
        # Fail closed before looking: an image is never passed as "no text found" because
        # the engine that would have read it is missing.
        try:
            ensure_detector()
        except OcrUnavailable as error:
            return PixelOutcome(False, [], ts_in, quarantine_reason=str(error))
    try:
        frames = load_frames(ds)
    except UnsupportedPixels as error:
        return PixelOutcome(False, [], ts_in, quarantine_reason=str(error))
    try:
        boxes = find_boxes(ds, frames, settings, cache)
    except Exception as error:  # detection failure must not stop a batch, nor pass a file
        return PixelOutcome(False, [], ts_in, quarantine_reason=_detection_failed(error))
    if not boxes:
        reason = NOT_FOUND_REASON if burned and not overlay_boxes else None
        return PixelOutcome(False, [], ts_in, quarantine_reason=reason, overlay_boxes=overlay_boxes)
    try:
        fill_boxes(frames, boxes, fill_value(ds, frames))
        ts_out = write_frames(ds, frames.stored, frames.photometric, frames.photometric_in)
    except CannotRewrite as error:
        return PixelOutcome(False, boxes, ts_in, quarantine_reason=str(error))
    except Exception as error:
        return PixelOutcome(
            False,
            boxes,
            ts_in,
            quarantine_reason=f"pixel data cannot be re-encoded ({type(error).__name__})",
        )
    ds.BurnedInAnnotation = "NO"
    return PixelOutcome(True, boxes, ts_out, overlay_boxes=overlay_boxes)
