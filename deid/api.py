"""The library entry point: ``from deid.api import deidentify, KeyRing, write_atomic``.

Everything a program needs to de-identify one dataset without the batch pipeline (also
importable from ``deid`` itself)::

    recipe = deid.recipe.builtin_recipe("basic")
    keys = KeyRing(secret)
    result = deidentify(pydicom.dcmread(path), recipe, keys)
    write_atomic(result.dataset, out_path)
"""

from __future__ import annotations

from deid.dicom.uids import is_well_known_uid
from deid.recipe import builtin_recipe, load_recipe
from deid.rewrite.engine import Deidentified, deidentify
from deid.rewrite.keyring import KeyRing
from deid.rewrite.quarantine import QuarantineError
from deid.rewrite.writer import encode_part10, write_atomic

__all__ = [
    "Deidentified",
    "KeyRing",
    "QuarantineError",
    "builtin_recipe",
    "deidentify",
    "encode_part10",
    "is_well_known_uid",
    "load_recipe",
    "write_atomic",
]
