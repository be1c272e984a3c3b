"""Object storage in and out: where a path is taken, a URL is too (``s3://``, ``gs://``,
``az://``, ``file://``), through fsspec.

One job per module:

- :mod:`~deid.storage.locations`: parse what the user typed into a local path or a URL.
- :mod:`~deid.storage.filesystems`: the fsspec filesystem for a URL, with the ecosystem's
  own credentials and ``--storage-options``; never prints or stores a secret.
- :mod:`~deid.storage.retry`: backoff on throttling, 5xx and connection resets.
- :mod:`~deid.storage.remote`: :class:`~deid.storage.remote.RemotePath`, the few ``Path``
  operations the pipeline uses, on object storage.
- :mod:`~deid.storage.listing`: every object under a prefix, in a deterministic order.
- :mod:`~deid.storage.objects`: read an object, write one atomically (one PUT).
- :mod:`~deid.storage.s3objects`: the per-file GET and PUT of S3 objects through obstore
  (a fifth of s3fs's CPU per request), falling back to s3fs.
- :mod:`~deid.storage.parquet`: ledger parts read and written through pyarrow with fsspec.
- :mod:`~deid.storage.prefetch`: a per-worker read-ahead thread.
- :mod:`~deid.storage.checks`: one-line usage errors (missing bucket, wrong credentials)
  before anything is written.

Local paths never go through fsspec: they keep today's behaviour and bytes exactly.
"""

from deid.storage.locations import Location, is_url, parse_location
from deid.storage.remote import location

__all__ = ["Location", "is_url", "location", "parse_location"]
