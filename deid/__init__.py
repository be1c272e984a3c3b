"""deid: de-identify DICOM exports by declarative, standard-derived recipes.

The import name and the command are ``deid``; the distribution on PyPI is
``deid-pipeline`` because ``deid`` belongs to an unrelated project.
"""

__version__ = "0.1.0"

__all__ = ["KeyRing", "__version__", "deidentify"]


def __getattr__(name: str):  # lazy: importing deid must not pull in pydicom
    if name in ("deidentify", "KeyRing"):
        from deid import api

        return getattr(api, name)
    raise AttributeError(f"module 'deid' has no attribute {name!r}")
