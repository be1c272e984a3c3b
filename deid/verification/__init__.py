"""The per-file parts of ``deid verify``: gather identifying values, scan one output.

Below the pipeline, which imports :mod:`.check` for ``deid run --verify``; a whole run is
:mod:`deid.verifyrun`, above it. Each module does one job:

- :mod:`.check`: the per-file gate (:func:`~.check.check_pair` and its two halves).
- :mod:`.findings`: the :class:`Finding` and :class:`VerifyReport` value types.
- :mod:`.walk`: an iterative walk over every element at every nesting level, with paths.
- :mod:`.values`: which values of an input the recipe did not keep (the needles).
- :mod:`.scan`: search one output (elements, file meta, preamble, raw bytes, path) for them.
- :mod:`.textscan`: the gate's own look for names, dates and IDs in the output's free text.
- :mod:`.crossindex`: identities of the whole input set, searched in each output.
- :mod:`.pixeltext`: output pixels re-read by OCR.
"""
