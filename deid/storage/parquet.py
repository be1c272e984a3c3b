"""Ledger parts read through pyarrow, from a folder or from a bucket alike.

Why: the ledger on object storage is the same Parquet dataset as on disk (DuckDB, pandas
or Spark read it straight from the bucket); pyarrow reads it through the fsspec filesystem,
so the only difference for deid's own readers is which filesystem is passed. A local
``Path`` goes to pyarrow exactly as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from deid.storage.remote import RemotePath
from deid.storage.retry import retrying


def read_schema(path: Path | RemotePath) -> pa.Schema:
    if isinstance(path, RemotePath):
        return retrying(lambda: pq.read_schema(path.fs_path, filesystem=path.fs))
    return pq.read_schema(path)


def read_table(
    path: Path | RemotePath, columns: list[str] | None = None, filters: Any = None
) -> pa.Table:
    """One part (``filters``: a pyarrow expression or DNF list, pushed down by pyarrow)."""
    if isinstance(path, RemotePath):
        return retrying(
            lambda: pq.read_table(
                path.fs_path, columns=columns, filters=filters, filesystem=path.fs
            )
        )
    return pq.read_table(path, columns=columns, filters=filters)


def dataset(paths: list[Path | RemotePath], schema: pa.Schema | None = None) -> ds.Dataset:
    """The parts as one pyarrow dataset (missing columns of older parts read as nulls when
    ``schema`` is given)."""
    remote = [p for p in paths if isinstance(p, RemotePath)]
    if remote:
        return ds.dataset(
            [p.fs_path for p in remote], schema=schema, format="parquet", filesystem=remote[0].fs
        )
    return ds.dataset([str(p) for p in paths], schema=schema, format="parquet")
