"""``deid verify`` over a whole run: beside ``deid run`` (:mod:`deid.pipeline`), above it.

- :mod:`.runner`: :func:`~.runner.verify_run`, the Dask-partitioned run over an input set.
- :mod:`.tasks`: one partition's checks (per file: :mod:`deid.verification`) and the
  set-level task.
- :mod:`.invariants`: the ledger read the way the tasks need it (vectorised look-ups) and
  the set-level invariants (every input once, hierarchy, orphan outputs).
"""
