"""Argument types the command modules share, so a bad number is a usage error (exit 2)."""

from __future__ import annotations

import argparse
import os


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def scheduler_address(text: str) -> str:
    """A Dask scheduler address Dask can parse (``tcp://HOST:PORT``); checked before any
    work so a typo is one line, not a ``distributed`` traceback."""
    from deid.errors import UserError
    from deid.pipeline.scheduler import parse_scheduler

    try:
        parse_scheduler(text)
    except UserError as error:
        message = str(error).removeprefix(f"--scheduler {text}: ")
        raise argparse.ArgumentTypeError(message) from None
    return text


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDRESS`` (not both): where ``deid run`` and
    ``deid verify`` compute, declared once so the two commands cannot drift apart."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help=f"local worker processes (default: one per core, here {os.cpu_count() or 1}; "
        "at most one per partition)",
    )
    where.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="dask scheduler, tcp://host:8786",
    )
    where.add_argument(
        "--scheduler-file",
        metavar="FILE",
        help="dask scheduler file (JSON with its address), as dask-jobqueue and dask-mpi write it",
    )


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    """``--storage-options JSON`` for object-storage URLs (s3://, gs://, az://)."""
    parser.add_argument(
        "--storage-options",
        metavar="JSON",
        help="options for the object-storage filesystem (fsspec), e.g. '{\"anon\": true}'; "
        "credentials otherwise come from the environment (AWS_*, profiles, roles)",
    )


def scheduler_of(args: argparse.Namespace) -> str | None:
    """``--scheduler``, or the address in ``--scheduler-file`` (one line if unusable)."""
    if getattr(args, "scheduler_file", None):
        from deid.pipeline.schedulerfile import address_from_file

        return address_from_file(args.scheduler_file)
    return args.scheduler


def builtin_recipe_names() -> list[str]:
    """The shipped recipes' names for help texts, from the folder itself (importing the recipe
    package to ask it would add 0.3 s to every command's start)."""
    from deid.resources import recipes_dir

    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))
