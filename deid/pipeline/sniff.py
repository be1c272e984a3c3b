"""Sniffing moved to :mod:`deid.reading` (below both the pipeline and verification); the
names stay importable from here."""

from deid.reading import HEAD_SIZE, Kind, sniff

__all__ = ["HEAD_SIZE", "Kind", "sniff"]
