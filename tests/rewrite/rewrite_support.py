"""Helpers shared by the rewriting engine's tests: recipes by option, datasets, round trips.

A uniquely named module (not ``conftest``): every test folder has its own conftest.py, so
``from conftest import ...`` could pick up another folder's.
"""

from __future__ import annotations

import io
from functools import cache

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from deid.recipe import builtin_recipe, recipe_from_text
from deid.recipe.model import Recipe
from deid.rewrite.writer import encode_part10

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SECRET = b"rewrite-tests-secret"


@cache
def profile_recipe(*options: str) -> Recipe:
    """The bare profile (no pseudonym rules) plus ``options``, via the recipe loader."""
    text = "deid-recipe: 1\nprofile: basic\n"
    if options:
        text += "options: [" + ", ".join(options) + "]\n"
    return recipe_from_text(text, name="test-" + "+".join(options or ("basic",)))


@cache
def shipped(name: str) -> Recipe:
    return builtin_recipe(name)


def base_dataset(**overrides: object) -> Dataset:
    """A small CT-like dataset with the usual identifying attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = generate_uid(prefix="1.2.826.0.1.3680043.10.9999.")
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.9999.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.9999.1.2"
    ds.StudyDate = "20240131"
    ds.StudyTime = "101530"
    ds.AccessionNumber = "ACC778899"
    ds.Modality = "CT"
    ds.InstitutionName = "Saint Elsewhere Hospital"
    ds.ReferringPhysicianName = "Welby^Marcus"
    ds.StudyDescription = "CT chest"
    ds.PatientName = "Doe^John"
    ds.PatientID = "PID4455667"
    ds.PatientBirthDate = "19700131"
    ds.PatientSex = "M"
    ds.StudyID = "STUDY42"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    for keyword, value in overrides.items():
        setattr(ds, keyword, value)
    return ds


def roundtrip(ds: Dataset) -> tuple[bytes, Dataset]:
    """Encode as Part 10 and read back (what a consumer of the output sees)."""
    data = encode_part10(ds)
    return data, pydicom.dcmread(io.BytesIO(data))
