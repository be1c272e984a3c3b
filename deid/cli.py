"""The ``deid`` command line: one sub-command per module in :mod:`deid.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code). User errors
are raised as :class:`deid.errors.UserError` and printed as one line, never a traceback.
"""

from __future__ import annotations

import time

#: When the command started (this module is the first deid imports): durations printed
#: include the start-up, not only the work after it.
STARTED = time.monotonic()

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import NoReturn  # noqa: E402

from deid import __version__  # noqa: E402
from deid.errors import UserError  # noqa: E402

#: Command modules, in the order ``deid --help`` lists their commands.
COMMAND_MODULES = (
    "deid.commands.run",
    "deid.commands.report",
    "deid.commands.recipe",
    "deid.commands.verify",
    "deid.commands.pixels",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one ``deid: ...`` line (exit 2), like every other
    user error, instead of the usage block followed by ``deid run: error: ...``; the
    sub-parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("deid").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"deid: {where}{message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="deid",
        description="De-identify DICOM exports with recipes built on DICOM PS3.15 Annex E.",
    )
    parser.add_argument("--version", action="version", version=f"deid {__version__}")
    parser.set_defaults(started=STARTED)  # commands read it from the namespace, not from here
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"deid: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("deid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
