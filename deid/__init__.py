"""deid: de-identify DICOM exports by declarative, standard-derived recipes.

The import name and the command are ``deid``; the distribution on PyPI is
``deid-pipeline`` because ``deid`` belongs to an unrelated project.
"""

__version__ = "0.1.0"

_API = ("KeyRing", "deidentify", "load_recipe", "builtin_recipe", "write_atomic", "encode_part10")
__all__ = ["__version__", *_API]


def __getattr__(name: str):  # lazy: importing deid must not pull in pydicom
    if name in _API:
        from deid import api

        return getattr(api, name)
    raise AttributeError(f"module 'deid' has no attribute {name!r}")
