"""Decoded frames and their 8-bit renderings, the form text detection and OCR work on.

Detection must see what a reader of the image would see, so monochrome data is mapped
through the file's own window (or a robust percentile window when it has none),
MONOCHROME1 is inverted, palette colour is looked up, and colour images are reduced to
their brightest channel (coloured annotation text stays bright in at least one channel).
The fill value is chosen in the *stored* representation so the filled box displays black.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut
from pydicom.pixels import pixel_array as decode_pixel_array

#: Photometric interpretations that pydicom decodes to RGB by default.
YBR_INPUTS = ("YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT")
SUPPORTED = ("MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", *YBR_INPUTS)


@dataclass
class Frames:
    """All frames of one dataset as stored values, plus what is needed to write them back.

    ``stored`` is (frames, rows, columns) or (frames, rows, columns, 3); ``photometric`` is
    the interpretation of ``stored`` (``RGB`` for YBR inputs that pydicom converted).
    """

    stored: np.ndarray
    photometric: str
    photometric_in: str

    @property
    def count(self) -> int:
        return int(self.stored.shape[0])


#: Every Photometric Interpretation PS3.3 C.7.6.3.1.2 defines (current and retired).
STANDARD_PHOTOMETRICS = frozenset(
    {
        "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "HSV", "ARGB", "CMYK",
        "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT",
        "YBR_RCT", "XYB",
    }
)  # fmt: skip


class UnsupportedPixels(Exception):
    """Pixel data this module cannot clean; the message is the quarantine reason."""


def load_frames(ds: pydicom.Dataset) -> Frames:
    """Decode every frame without caching the array on the dataset.

    ``pydicom.pixels.pixel_array`` is used instead of ``ds.pixel_array`` so the dataset
    keeps no decoded copy (memory) and its PixelData element is never touched.
    """
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in SUPPORTED:
        # Name the value only when it is one of the standard's terms: a reason reaches the
        # ledger and the terminal, and a hostile file may hold a name in any element.
        shown = photometric if photometric in STANDARD_PHOTOMETRICS else "(not a standard term)"
        raise UnsupportedPixels(f"Photometric Interpretation {shown} not supported")
    if int(ds.get("BitsAllocated", 0) or 0) not in (1, 8, 16, 32):
        raise UnsupportedPixels(f"Bits Allocated {ds.get('BitsAllocated')} not supported")
    try:
        arr = _decode(ds)
    except Exception as error:  # any codec failure is a quarantine, never a crash
        raise UnsupportedPixels(f"pixel data cannot be decoded ({type(error).__name__})") from error
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frames_n = int(ds.get("NumberOfFrames", 1) or 1)
    if (samples == 1 and arr.ndim == 2) or (samples > 1 and arr.ndim == 3):
        arr = arr[np.newaxis]
    if arr.shape[0] != frames_n and frames_n > 1:
        raise UnsupportedPixels("decoded frame count differs from Number of Frames")
    out_pi = "RGB" if photometric in YBR_INPUTS else photometric
    return Frames(stored=arr, photometric=out_pi, photometric_in=photometric)


def _decode(ds: pydicom.Dataset) -> np.ndarray:
    """Decode all frames; a dataset read without a Part 10 header (no file meta) is decoded
    with the transfer syntax it was read in, and left without file meta as it came."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return decode_pixel_array(ds)
    from pydicom.dataset import FileMetaDataset

    from deid.dicom.syntax import transfer_syntax_of

    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax_of(ds)
    try:
        return decode_pixel_array(ds)
    finally:
        if meta is None:
            del ds.file_meta
        else:
            ds.file_meta = meta


def _window(ds: pydicom.Dataset) -> tuple[float, float] | None:
    """The file's first VOI window as (low, high) in modality units, if it has a usable one."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    except (TypeError, ValueError, IndexError):
        return None
    if w <= 1:
        return None
    return c - w / 2.0, c + w / 2.0


def _rescale(ds: pydicom.Dataset) -> tuple[float, float]:
    try:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
    except (TypeError, ValueError):
        return 1.0, 0.0
    return slope, intercept


def display_range(ds: pydicom.Dataset, stored: np.ndarray) -> tuple[float, float]:
    """(low, high) in *stored* units that maps to black..white for a monochrome image.

    The same range is used for every frame so identical annotation crops in different
    frames render identically (OCR results are then reused by hash).
    """
    slope, intercept = _rescale(ds)
    window = _window(ds)
    if window is not None and slope != 0:
        low, high = ((v - intercept) / slope for v in window)
        low, high = min(low, high), max(low, high)
    else:
        sample = stored.reshape(-1)
        if sample.size > 400_000:
            sample = sample[:: sample.size // 400_000 + 1]
        low, high = (float(v) for v in np.percentile(sample, (0.5, 99.5)))
    if high - low < 1:
        low, high = float(stored.min()), float(stored.max())
        if high - low < 1:
            high = low + 1
    return low, high


def to_gray8(ds: pydicom.Dataset, frames: Frames) -> np.ndarray:
    """(frames, rows, columns) uint8 rendering in display polarity (bright = white)."""
    stored = frames.stored
    if frames.photometric in ("MONOCHROME1", "MONOCHROME2"):
        low, high = display_range(ds, stored)
        gray = _through_table(stored, low, high)
        if gray is None:
            gray = np.empty(stored.shape, dtype=np.uint8)
            for index in range(stored.shape[0]):  # per frame: bounded float memory
                gray[index] = _scaled(stored[index], low, high)
        if frames.photometric == "MONOCHROME1":
            np.subtract(255, gray, out=gray)
        return gray
    rgb = to_rgb8(ds, frames)
    return rgb.max(axis=-1)


def renderings(ds: pydicom.Dataset, frames: Frames) -> tuple[np.ndarray, np.ndarray | None]:
    """The 8-bit rendering :func:`to_gray8` gives, and for colour data its *whiteness*
    too: the lowest channel of each pixel.

    The brightest channel keeps coloured annotation bright, but white text laid over
    colour Doppler or a saturated photograph vanishes in it (white and pure red are both
    255 there), where a viewer shows it plainly; in the lowest channel the white text
    stays 255 and the saturated colours under it go dark (measured: every ultrasound line
    over Doppler the pipeline missed was legible there). None for monochrome data.
    """
    if frames.photometric in ("MONOCHROME1", "MONOCHROME2"):
        return to_gray8(ds, frames), None
    rgb = to_rgb8(ds, frames)
    return rgb.max(axis=-1), rgb.min(axis=-1)


#: Integer data spanning at most this many values is rendered through a lookup table.
MAX_TABLE = 1 << 16


def _scaled(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (values.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _through_table(stored: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """The rendering of integer data as one table lookup per pixel, or None for data a
    table does not suit (floats, a span above :data:`MAX_TABLE`).

    The table holds :func:`_scaled` of every value between the data's minimum and maximum,
    so the result is the same bytes; on every text-free CT or MR frame the float
    arithmetic it replaces cost three to four times the lookup.
    """
    if stored.dtype.kind not in "iu" or stored.size == 0:
        return None
    first, last = int(stored.min()), int(stored.max())
    if last - first >= MAX_TABLE:
        return None
    table = _scaled(np.arange(first, last + 1, dtype=np.int64), low, high)
    gray = np.empty(stored.shape, dtype=np.uint8)
    for index in range(stored.shape[0]):  # per frame: bounded index memory
        frame = stored[index]
        if first == 0:
            offsets = frame
        elif stored.dtype.kind == "u":  # every value is >= first: no wrap-around
            offsets = frame - stored.dtype.type(first)
        else:
            offsets = np.subtract(frame, first, dtype=np.int64)
        np.take(table, offsets, out=gray[index], mode="clip")
    return gray


def to_rgb8(ds: pydicom.Dataset, frames: Frames) -> np.ndarray:
    """(frames, rows, columns, 3) uint8 colour rendering (for colour data and previews)."""
    stored = frames.stored
    if frames.photometric == "PALETTE COLOR":
        rgb = apply_color_lut(stored, ds)
        return _scale_to_8(rgb)
    if frames.photometric == "RGB":
        return _scale_to_8(stored)
    gray = to_gray8(ds, frames)
    return np.repeat(gray[..., np.newaxis], 3, axis=-1)


def _scale_to_8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    top = float(arr.max()) if arr.size else 255.0
    bits = 16 if top > 255 else 8
    return (arr.astype(np.float32) * (255.0 / (2**bits - 1))).clip(0, 255).astype(np.uint8)


def fill_value(ds: pydicom.Dataset, frames: Frames) -> int | tuple[int, int, int]:
    """The stored value that displays black: what a filled box is painted with."""
    stored = frames.stored
    if frames.photometric == "MONOCHROME2":
        return int(stored.min())
    if frames.photometric == "MONOCHROME1":
        return int(stored.max())
    if frames.photometric == "PALETTE COLOR":
        return _darkest_palette_index(ds, stored)
    return (0, 0, 0)


def _darkest_palette_index(ds: pydicom.Dataset, stored: np.ndarray) -> int:
    """The palette entry with the lowest luminance, among the indices the LUT maps."""
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    if descriptor is not None:
        entries = int(descriptor[0]) or 65536
        first = int(descriptor[1])
    else:
        entries, first = int(stored.max()) + 1, 0
    maximum = 255 if stored.dtype == np.uint8 else 65535
    indices = np.arange(first, min(first + entries, maximum + 1), dtype=stored.dtype)
    rgb = apply_color_lut(indices, ds).astype(np.float64)
    luminance = rgb @ np.array([0.299, 0.587, 0.114])
    return int(indices[int(np.argmin(luminance))])
