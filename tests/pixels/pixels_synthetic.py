"""Ground-truth images with burned-in text, for the tests and ``benchmarks/ocr.py``.

Text is drawn the way devices burn it: Hershey fonts (OpenCV), white or grey, in the
corners or on a top bar, into any photometric interpretation and bit depth. Every
planted line is returned with its stroke mask, so a check can say exactly which text
pixels survived cleaning and which non-text pixels changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cv2
import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_GRAY_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
PLACEMENTS = ("top-left", "top-right", "bottom-left", "bottom-right", "top-bar")

_SURNAMES = ("SMITH", "GARCIA", "NGUYEN", "MUELLER", "OKAFOR", "ROSSI", "TANAKA", "KOWALSKI")
_GIVEN = ("JANE", "JOHN", "MARIA", "AHMED", "LI", "SVEN", "AMARA", "PIOTR")
_SITES = ("ST MARY HOSPITAL", "CITY GENERAL", "MERCY MED CTR", "NORTH CLINIC")


@dataclass
class PlantedText:
    """One line of planted text: where its strokes are (frame, box, stroke mask)."""

    frame: int
    text: str
    box: tuple[int, int, int, int]  # tight (x, y, w, h) around the strokes
    mask: np.ndarray = field(repr=False)  # bool (rows, columns), True on stroke pixels


def identity_line(rng: random.Random) -> str:
    """A line that looks like device annotation with identity in it."""
    kind = rng.randrange(5)
    if kind == 0:
        return f"{rng.choice(_SURNAMES)}^{rng.choice(_GIVEN)}"
    if kind == 1:
        return f"ID {rng.randrange(10**6, 10**9)}"
    if kind == 2:
        return f"{rng.randrange(1930, 2020)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if kind == 3:
        return rng.choice(_SITES)
    return f"ACC {rng.randrange(10**4, 10**7)} {rng.randrange(0, 24):02d}:{rng.randrange(60):02d}"


def text_mask(
    shape: tuple[int, int],
    text: str,
    placement: str,
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
    scale: float = 0.5,
    thickness: int = 1,
    line: int = 0,
    inset: int = 6,
) -> np.ndarray:
    """Anti-aliased stroke coverage (float 0..1) of ``text`` at a device-like position."""
    rows, columns = shape
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    step = th + base + 6
    if placement == "top-bar" or placement == "top-left":
        x, y = inset, inset + th + line * step
    elif placement == "top-right":
        x, y = columns - tw - inset, inset + th + line * step
    elif placement == "bottom-left":
        x, y = inset, rows - inset - base - line * step
    else:
        x, y = columns - tw - inset, rows - inset - base - line * step
    canvas = np.zeros(shape, dtype=np.uint8)
    cv2.putText(canvas, text, (int(x), int(y)), font, scale, 255, thickness, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def bar_height(font: int, scale: float, thickness: int, lines: int = 1) -> int:
    (_, th), base = cv2.getTextSize("Ag", font, scale, thickness)
    return 12 + lines * (th + base + 6)


def blend(image: np.ndarray, coverage: np.ndarray, value: float | tuple[float, ...]) -> None:
    """Draw ``value`` into ``image`` (any dtype, 2-D or RGB) with anti-aliased coverage."""
    alpha = coverage[..., np.newaxis] if image.ndim == 3 else coverage
    target = np.asarray(value, dtype=np.float32)
    mixed = image.astype(np.float32) * (1 - alpha) + target * alpha
    image[...] = np.rint(mixed).astype(image.dtype)


def plant(
    frame: np.ndarray,
    frame_index: int,
    text: str,
    placement: str,
    value: float | tuple[float, ...],
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
    scale: float = 0.5,
    thickness: int = 1,
    line: int = 0,
    background: float | tuple[float, ...] | None = None,
    backing: float | tuple[float, ...] | None = None,
) -> PlantedText:
    """Draw one line into ``frame`` (in place); a top bar is painted first if requested,
    and ``backing`` fills a label box behind the text (devices do that over bright image
    content, so the text stays legible)."""
    shape = frame.shape[:2]
    if placement == "top-bar" and background is not None and line == 0:
        frame[: bar_height(font, scale, thickness)] = background
    coverage = text_mask(shape, text, placement, font, scale, thickness, line)
    if backing is not None:
        ys, xs = np.nonzero(coverage)
        frame[max(0, ys.min() - 3) : ys.max() + 4, max(0, xs.min() - 3) : xs.max() + 4] = backing
    blend(frame, coverage, value)
    mask = coverage > 0.25
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
    return PlantedText(frame_index, text, box, mask)


def make_dataset(
    stored: np.ndarray,
    photometric: str,
    bits_stored: int,
    *,
    modality: str = "OT",
    burned_in: str | None = "YES",
    palette: np.ndarray | None = None,
    window: tuple[float, float] | None = None,
) -> pydicom.Dataset:
    """A minimal, consistent image dataset around ``stored`` (frames first if 3-D/4-D).

    ``stored`` for YBR_FULL is given as RGB and converted here, so callers draw in RGB.
    """
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    multi = (stored.ndim == 3 and photometric not in ("RGB", "YBR_FULL")) or stored.ndim == 4
    ds.SOPClassUID = MULTIFRAME_GRAY_WORD_SC if multi else SECONDARY_CAPTURE
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientName = "SYNTHETIC^TEST"
    ds.PatientID = "SYN0001"
    ds.Modality = modality
    ds.ConversionType = "WSD"
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    data = stored
    if photometric == "YBR_FULL":
        data = convert_color_space(stored, "RGB", "YBR_FULL")
    ds.set_pixel_data(np.ascontiguousarray(data), photometric, bits_stored)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    if multi:
        ds.NumberOfFrames = stored.shape[0]
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if photometric == "PALETTE COLOR":
        assert palette is not None, "PALETTE COLOR needs a (N, 3) uint8 palette"
        entries = len(palette)
        for colour, channel in zip(("Red", "Green", "Blue"), range(3)):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [entries % 65536, 0, 8])
            lut = palette[:, channel].astype(np.uint8).tobytes()
            setattr(ds, f"{colour}PaletteColorLookupTableData", lut)
    return ds


def smooth_background(shape: tuple[int, int], seed: int = 0, top: float = 1.0) -> np.ndarray:
    """A soft anatomy-like field in 0..top: blurred noise blobs on a dark surround."""
    rng = np.random.default_rng(seed)
    rows, columns = shape
    noise = rng.random((rows // 8 + 1, columns // 8 + 1)).astype(np.float32)
    field_ = cv2.resize(noise, (columns, rows), interpolation=cv2.INTER_CUBIC)
    field_ = cv2.GaussianBlur(field_, (0, 0), 6)
    yy, xx = np.mgrid[:rows, :columns]
    ellipse = ((yy - rows / 2) / (rows * 0.38)) ** 2 + ((xx - columns / 2) / (columns * 0.36)) ** 2
    body = np.clip(1.2 - ellipse, 0, 1)
    span = float(np.ptp(field_)) or 1.0
    out = (0.35 + 0.65 * (field_ - field_.min()) / span) * body * top
    return np.clip(out, 0, top).astype(np.float32)


def stroke_pixels_survived(before: PlantedText, cleaned: np.ndarray, fill: object) -> int:
    """How many stroke pixels of ``before`` are not the fill value after cleaning."""
    region = cleaned[before.mask]
    if region.ndim == 2:
        return int(np.any(region != np.asarray(fill), axis=-1).sum())
    return int((region != fill).sum())
