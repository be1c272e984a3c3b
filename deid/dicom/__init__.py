"""The DICOM vocabulary: facts about DICOM that the engine and the gate must agree on.

One place for each fact, imported by the rewriting engine (:mod:`deid.rewrite`), text
cleaning, the residual guard and ``deid verify`` (:mod:`deid.verification`): which UIDs are
well known, which private values Retain Safe Private keeps and whose block an element is in,
how people spell a date, how a Person Name splits, which VRs hold free text, where a SOP
Instance UID lives when the body has none. Facts only: what to *do* with them (remove,
search, quarantine) stays with each caller, so verify remains an independent gate.
This package imports nothing of deid's: it is the bottom layer.
"""
