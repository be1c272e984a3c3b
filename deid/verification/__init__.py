"""The parts of ``deid verify``: gather identifying values, scan outputs, run over a ledger.

:mod:`deid.verify` is the public face (the names the pipeline and the CLI import); the
modules here each do one job:

- :mod:`.findings`: the :class:`Finding` and :class:`VerifyReport` value types.
- :mod:`.walk`: an iterative walk over every element at every nesting level, with paths.
- :mod:`.values`: which values of an input the recipe did not keep (the needles).
- :mod:`.scan`: search one output (elements, file meta, preamble, raw bytes, path) for them.
- :mod:`.ledger`: read the run's ledger the way workers need it (vectorised look-ups).
- :mod:`.run`: the Dask-partitioned run over a whole input set.
"""
