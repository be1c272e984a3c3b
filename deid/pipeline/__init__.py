"""The batch pipeline behind ``deid run``: Dask partitions, a Parquet ledger, resumable.

- :mod:`~deid.pipeline.inputs`: INPUT arguments and manifests -> the sorted path list.
- :mod:`~deid.pipeline.plan`: partitions of that list, each with a content hash.
- :mod:`~deid.pipeline.batch`: the client: cluster, bounded submission, summary.
- :mod:`~deid.pipeline.partition`: one partition inside a Dask worker (skip if done).
- :mod:`~deid.pipeline.child`: the subprocess that does the per-file work (time limit).
- :mod:`~deid.pipeline.per_file`: one file -> one :class:`~deid.pipeline.records.FileRecord`.
- :mod:`~deid.pipeline.duplicates`: the deterministic winner of a contested output name.
- :mod:`~deid.pipeline.ledger`, :mod:`~deid.pipeline.mappings`, :mod:`~deid.pipeline.summary`:
  the ledger folder, its CSV export and its summary.
- :mod:`~deid.pipeline.keys`, :mod:`~deid.pipeline.sniff`, :mod:`~deid.pipeline.progress`.
"""
