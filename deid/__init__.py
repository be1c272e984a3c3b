"""deid: de-identify DICOM exports by declarative, standard-derived recipes.

The import name and the command are ``deid``; the distribution on PyPI is
``deid-pipeline`` because ``deid`` belongs to an unrelated project.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
