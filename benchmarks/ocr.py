"""Benchmark Clean Pixel Data against planted ground truth (recall, collateral, speed).

Real image content from pydicom's test files (CT, MR, NM, a pattern image; colour
variants made with OpenCV colour maps) gets device-like text: corners and top bars, white
and grey, Hershey fonts at several scales, in 8/12/16-bit monochrome, MONOCHROME1, RGB,
YBR_FULL, PALETTE COLOR, multi-frame and compressed transfer syntaxes, plus the same
images without text. Reported:

* recall: share of planted lines whose every stroke pixel was filled;
* collateral: share of pixels away from planted text (beyond the margin) that changed;
* seconds per frame (median; and for 512x512 single frames), multi-frame cost;
* clean files changed (false positives on images without text).

Usage: ``python benchmarks/ocr.py [--samples N] [--seed S]``. Targets: recall >= 0.98,
collateral <= 1 %, <= 0.5 s median per 512x512 frame.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pixels"))

from pixels_synthetic import (
    FONTS,
    PLACEMENTS,
    PlantedText,
    identity_line,
    make_dataset,
    plant,
    text_mask,
)

from deid.pixels.clean import clean_pixels
from deid.pixels.ocr import OcrCache
from deid.pixels.render import load_frames
from deid.recipe.model import PixelSettings

#: Images without text of their own (others, e.g. mlut_18/vlut_04, carry a test pattern's).
SOURCES = (
    "693_UNCR.dcm",
    "MR2_UNCR.dcm",
    "eCT_Supplemental.dcm",
    "JPEG2000_UNC.dcm",
    "CT_small.dcm",
    "MR_small.dcm",
    "RG1_UNCR.dcm",
    "image_dfl.dcm",
)
KINDS = ("mono8", "mono12", "mono16", "mono1", "rgb", "ybr_full", "palette")
SYNTAXES = (None, None, None, RLELossless, JPEGLSLossless, JPEG2000Lossless)
SETTINGS = PixelSettings(enabled=True)


@dataclass
class Sample:
    name: str
    ds: pydicom.Dataset
    planted: list[PlantedText]
    kind: str
    frames: int
    meta: dict = field(default_factory=dict)


def base_images() -> dict[str, np.ndarray]:
    """Real image content as float 0..1, at most 512 px on a side."""
    out = {}
    for name in SOURCES:
        arr = pydicom.dcmread(get_testdata_file(name)).pixel_array
        arr = arr[0] if arr.ndim == 3 else arr
        arr = arr.astype(np.float32)
        low, high = np.percentile(arr, (0.5, 99.8))
        arr = np.clip((arr - low) / max(high - low, 1), 0, 1)
        rows, columns = arr.shape
        scale = min(1.0, 512 / max(rows, columns))
        if rows < 200:
            scale = 256 / max(rows, columns)
        if scale != 1.0:
            arr = cv2.resize(arr, (round(columns * scale), round(rows * scale)))
        out[name] = np.clip(arr, 0, 1)
    return out


def _palette() -> np.ndarray:
    ramp = np.arange(256, dtype=np.uint8)[:, None]
    bgr = cv2.applyColorMap(ramp, cv2.COLORMAP_BONE)[:, 0, :]
    return bgr[:, ::-1].copy()


def make_sample(rng: random.Random, base: np.ndarray, kind: str, frames: int, lines: int):
    """One dataset with ``lines`` planted lines per frame (0 for a negative)."""
    if kind in ("rgb", "ybr_full"):
        colour = cv2.applyColorMap((base * 255).astype(np.uint8), cv2.COLORMAP_BONE)
        image = colour[..., ::-1].copy()
        white = (255, 255, 255)
        grey = (rng.randrange(120, 190),) * 3
        black, photometric, bits = (0, 0, 0), ("RGB" if kind == "rgb" else "YBR_FULL"), 8
    elif kind == "palette":
        image = (base * 255).astype(np.uint8)
        white, grey, black = 255, rng.randrange(120, 190), 0
        photometric, bits = "PALETTE COLOR", 8
    else:
        top = {"mono8": 255, "mono12": 4095, "mono16": 65535, "mono1": 1023}[kind]
        dtype = np.uint8 if top == 255 else np.uint16
        image = (base * top * 0.9).astype(dtype)
        white, grey, black = top, round(top * rng.uniform(0.5, 0.75)), 0
        photometric, bits = "MONOCHROME2", {255: 8, 4095: 12, 65535: 16, 1023: 10}[top]
        if kind == "mono1":
            image = (top - image).astype(dtype)
            white, grey, black = 0, top - grey, top
            photometric = "MONOCHROME1"
    stack = np.stack([image] * frames)
    if frames > 1:  # frames differ in content (noise), not in annotation
        noise = np.random.default_rng(rng.randrange(1 << 30))
        ceiling = int(stack.max())
        for i in range(1, frames):
            jitter = noise.integers(0, 3, size=stack[i].shape, dtype=np.int32)
            stack[i] = np.clip(stack[i].astype(np.int64) + jitter, 0, ceiling)
    planted: list[PlantedText] = []
    places = rng.sample(PLACEMENTS, k=min(lines, len(PLACEMENTS)))
    if "top-bar" in places:  # a bar spans the width: no separate top corner text
        places = [p for p in places if p not in ("top-left", "top-right")]
    specs = []
    for place in places:
        font = rng.choice(FONTS)
        scale = rng.choice((0.35, 0.45, 0.55, 0.7, 0.9))
        if font == cv2.FONT_HERSHEY_PLAIN:
            scale *= 1.6
        thickness = 1 if scale < 0.8 else rng.choice((1, 2))
        value = white if rng.random() < 0.6 else grey
        n_lines = 1 if place == "top-bar" else rng.choice((1, 1, 2))
        specs.append((place, font, scale, thickness, value, n_lines))
    occupied = np.zeros(base.shape, dtype=bool)
    layout = []  # (place, font, scale, thickness, value, line, backing) that fit
    for place, font, scale, thickness, value, n_lines in specs:
        for line in range(n_lines):
            mask = text_mask(base.shape, "ACC 0000000 00:00", place, font, scale, thickness, line)
            ys, xs = np.nonzero(mask > 0)
            if not len(ys) or xs.min() < 0 or xs.max() >= base.shape[1] - 1:
                continue
            area = (
                slice(max(0, ys.min() - 6), ys.max() + 7),
                slice(max(0, xs.min() - 6), xs.max() + 7),
            )
            if occupied[area].any():
                continue
            occupied[area] = True
            legible = np.percentile(base[area], 95) < 0.35 or place == "top-bar"
            layout.append((place, font, scale, thickness, value, line, None if legible else black))
    texts = [identity_line(rng) for _ in layout]  # the same annotation on every frame
    for index in range(frames):
        frame = stack[index]
        for text, (place, font, scale, thickness, value, line, backing) in zip(texts, layout):
            planted.append(
                plant(
                    frame,
                    index,
                    text,
                    place,
                    value,
                    font,
                    scale,
                    thickness,
                    line,
                    background=black,
                    backing=backing,
                )
            )
    data = stack if frames > 1 else stack[0]
    ds = make_dataset(
        data,
        photometric,
        bits,
        modality="OT",
        burned_in=None,
        palette=_palette() if kind == "palette" else None,
    )
    return ds, planted


def build_corpus(count: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    bases = base_images()
    names = list(bases)
    samples = []
    for i in range(count):
        name = names[i % len(names)]
        kind = KINDS[(i // len(names) + i) % len(KINDS)]
        negative = i % 5 == 4
        frames = 3 if i % 7 == 3 else 1
        ds, planted = make_sample(
            rng, bases[name], kind, frames, 0 if negative else rng.randint(1, 4)
        )
        syntax = SYNTAXES[i % len(SYNTAXES)]
        if syntax is not None and kind != "ybr_full":
            try:
                ds.compress(syntax, generate_instance_uid=False)
            except Exception:
                syntax = None
        samples.append(
            Sample(
                f"{i:03d}-{name}-{kind}",
                ds,
                planted,
                kind,
                frames,
                meta={"syntax": str(syntax or "native"), "negative": negative},
            )
        )
    return samples


def evaluate(sample: Sample, settings: PixelSettings) -> dict:
    before = load_frames(sample.ds).stored.copy()
    syntax_in = str(sample.ds.file_meta.TransferSyntaxUID)
    cache = OcrCache()
    start = time.perf_counter()
    outcome = clean_pixels(sample.ds, settings, cache=cache)
    seconds = time.perf_counter() - start
    after = load_frames(sample.ds).stored if outcome.changed else before
    changed = before != after
    if changed.ndim == 4:
        changed = changed.any(axis=-1)
    near_text = np.zeros(changed.shape, dtype=bool)
    removed = []
    for p in sample.planted:
        strokes = after[p.frame][p.mask]
        fill = strokes[0] if len(strokes) else None
        uniform = len(strokes) and np.all(strokes == fill)
        differs = changed[p.frame][p.mask].mean() > 0.5 if len(strokes) else False
        removed.append(bool(uniform and differs))
        x, y, w, h = p.box
        pad = settings.margin + 3
        near_text[p.frame, max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad] = True
    away = ~near_text
    return {
        "removed": removed,
        "collateral_px": int((changed & away).sum()),
        "away_px": int(away.sum()),
        "seconds": seconds,
        "per_frame": seconds / sample.frames,
        "shape": before.shape[1:3],
        "changed": outcome.changed,
        "ocr_calls": cache.calls,
        "ts_ok": outcome.transfer_syntax_out == syntax_in,
    }


def multiframe_cost(bases: dict[str, np.ndarray], frames: int = 10) -> tuple[float, float]:
    rng = random.Random(7)
    single, _ = make_sample(random.Random(7), bases["693_UNCR.dcm"], "mono12", 1, 3)
    multi, _ = make_sample(rng, bases["693_UNCR.dcm"], "mono12", frames, 3)
    t0 = time.perf_counter()
    clean_pixels(single, SETTINGS, cache=OcrCache())
    t1 = time.perf_counter()
    clean_pixels(multi, SETTINGS, cache=OcrCache())
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=70)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    samples = build_corpus(args.samples, args.seed)
    results = []
    by_group: dict[str, list[bool]] = defaultdict(list)
    for sample in samples:
        r = evaluate(sample, SETTINGS)
        results.append(r)
        by_group[sample.kind].extend(r["removed"])
        by_group[sample.meta["syntax"][:22]].extend(r["removed"])
        if args.verbose and r["collateral_px"] > 0.002 * r["away_px"]:
            share = r["collateral_px"] / r["away_px"] * 100
            print(f"  collateral {sample.name}: {share:.2f} %")
        if args.verbose and not all(r["removed"]):
            missed = [p.box for p, ok in zip(sample.planted, r["removed"]) if not ok]
            print(f"  missed {sample.name}: {missed}")
    removed = [ok for r in results for ok in r["removed"]]
    recall = sum(removed) / max(len(removed), 1)
    collateral = sum(r["collateral_px"] for r in results) / sum(r["away_px"] for r in results)
    per_frame = [r["per_frame"] for r in results]
    frame512 = [r["per_frame"] for r in results if tuple(r["shape"]) == (512, 512)]
    negatives = [r for s, r in zip(samples, results) if s.meta["negative"]]
    single, multi = multiframe_cost(base_images())
    print(f"samples: {len(samples)} ({len(negatives)} without text), text lines: {len(removed)}")
    print(f"recall (lines fully removed): {recall:.3f}   target >= 0.98")
    print(f"collateral (non-text pixels changed): {collateral * 100:.3f} %   target <= 1 %")
    print(f"negatives changed: {sum(r['changed'] for r in negatives)}/{len(negatives)}")
    print(
        f"seconds per frame: median {statistics.median(per_frame):.3f}, "
        f"512x512 median {statistics.median(frame512) if frame512 else float('nan'):.3f} "
        f"(n={len(frame512)}), max {max(per_frame):.3f}   target <= 0.5"
    )
    print(
        f"multi-frame: 1 frame {single:.3f} s, 10 frames {multi:.3f} s "
        f"({multi / single:.2f}x single)"
    )
    print(f"syntax preserved: {sum(r['ts_ok'] for r in results)}/{len(results)}")
    for group, oks in sorted(by_group.items()):
        print(f"  recall {group:<24} {sum(oks) / max(len(oks), 1):.3f} (n={len(oks)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
