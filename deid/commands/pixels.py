"""``deid pixels preview``: show, as red boxes on a PNG, what Clean Pixel Data would remove.

Prints the number of boxes, never the text read. Exit 0 on success, 2 on usage errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deid.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pixels",
        help="burned-in text tools (preview what Clean Pixel Data removes)",
        description="Tools for the Clean Pixel Data option.",
    )
    commands = parser.add_subparsers(dest="pixels_command", metavar="SUBCOMMAND")
    preview = commands.add_parser(
        "preview",
        help="draw what would be removed from one file's pixels",
        description=(
            "Run text detection with the recipe's pixel settings on FILE and write a PNG "
            "of one frame with red rectangles around what would be blacked out. Nothing "
            "is modified; the text read is never printed, but the PNG shows the frame "
            "uncleaned: treat it like the input."
        ),
    )
    preview.add_argument("file", metavar="FILE", help="a DICOM file")
    preview.add_argument("--recipe", required=True, metavar="R", help="recipe YAML file")
    preview.add_argument("--out", required=True, metavar="PNG", help="PNG to write")
    preview.add_argument("--frame", type=int, default=0, metavar="N", help="frame (from 0)")
    preview.set_defaults(func=run_preview)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_preview(args: argparse.Namespace) -> int:
    import pydicom

    from deid.pixels.preview import FrameOutOfRange, render_preview, write_png
    from deid.pixels.render import UnsupportedPixels
    from deid.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    settings = recipe.pixels
    try:
        ds = pydicom.dcmread(args.file)
    except (OSError, pydicom.errors.InvalidDicomError) as error:
        raise UserError(f"{args.file}: cannot read DICOM file ({type(error).__name__})") from None
    if "PixelData" not in ds:
        raise UserError(f"{args.file}: no Pixel Data to preview")
    try:
        image, found = render_preview(ds, settings, args.frame)
    except UnsupportedPixels as error:
        raise UserError(f"{args.file}: {error}") from None
    except FrameOutOfRange as error:
        raise UserError(f"--frame: {error}") from None
    except Exception as error:  # as in the pipeline: the type only, never a library message
        raise UserError(f"{args.file}: text detection failed ({type(error).__name__})") from None
    try:
        write_png(image, Path(args.out))
    except OSError as error:
        raise UserError(f"{args.out}: cannot write PNG ({error.strerror or error})") from None
    on_frame = sum(1 for box in found.boxes if box[0] == args.frame)
    if not settings.enabled:
        print("note: the recipe has Clean Pixel Data off; previewed with its pixel settings")
    if not found.selected:
        print(
            "note: no 'clean' condition of the recipe matches this file (it would be checked only)"
        )
    print(
        f"{on_frame} box(es) on frame {args.frame}; {len(found.boxes)} in {found.frames} frame(s)"
    )
    print(f"wrote {args.out}")
    return 0
