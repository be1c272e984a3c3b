"""A worker child for tests whose engine leaks: for inputs named ``LEAK*`` the original
Patient's Name is planted in Image Comments after de-identification, as a buggy rule would."""

from __future__ import annotations

import os
import sys

import deid.rewrite.engine as engine
from deid.pipeline.child import main
from deid.pipeline.per_file import process_file

_real = engine.deidentify
_current = {"name": ""}


def leaky(ds, recipe, keys):
    original = str(ds.get("PatientName", ""))
    result = _real(ds, recipe, keys)
    if _current["name"].startswith("LEAK"):
        result.dataset.ImageComments = f"seen for {original}"
    return result


def process(path, ctx):
    _current["name"] = os.path.basename(path)
    return process_file(path, ctx)


if __name__ == "__main__":
    engine.deidentify = leaky
    sys.exit(main(process))
