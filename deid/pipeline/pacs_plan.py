"""What ``deid run`` does before anything starts when its INPUT or ``--out`` is a PACS.

Everything a user can get wrong is found here, as one line and exit 2, before a Dask
process starts or an instance is fetched: a malformed URL, a PACS INPUT mixed with files,
``--query`` without a PACS INPUT, a manifest line that is not a UID, an endpoint that does
not answer, refuses the association (unknown AE title) or the credentials (HTTP 401). Then
the query's listing becomes the plan: one entry per series (:mod:`deid.pacs.source`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deid.errors import UserError
from deid.pacs.query import Query, parse_query
from deid.pacs.urls import looks_like_endpoint, parse_endpoint
from deid.pipeline.pacs_partition import PacsSetup

#: Series per partition when the INPUT is a PACS (``--partition-size`` counts series then).
PACS_PARTITION_SIZE = 4


@dataclass
class PacsPlan:
    setup: PacsSetup
    #: The plan entries (series) when the INPUT is a PACS, else None (files as usual).
    units: list[str] | None = None
    #: Per entry, the instances the source says the series holds (None: not said).
    unit_instances: list[int | None] | None = None
    #: ``--move-to``: (AE title, port) of the run's own Storage SCP for C-MOVE.
    move_to: tuple[str, int] | None = None

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        """While the run lasts: the Storage SCP that C-MOVE sends to (nothing without
        ``--move-to``); ``setup`` then names its folder for the workers."""
        if self.move_to is None:
            yield
            return
        from deid.pacs.move import Receiver

        with Receiver(*self.move_to) as receiver:
            self.setup = dataclasses.replace(
                self.setup, move=(self.move_to[0], str(receiver.folder))
            )
            yield

    @property
    def out_name(self) -> str | None:
        """What the ledger and run.json name as the output when it is a PACS."""
        return str(self.setup.dest) if self.setup.dest is not None else None


def names_a_pacs(inputs: list[str], out: str, query: str | None) -> bool:
    return bool(query) or looks_like_endpoint(out) or any(looks_like_endpoint(i) for i in inputs)


def _manifest_uids(path: str) -> list[str]:
    manifest = Path(path)
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise UserError(f"cannot read the manifest {path}: {reason}") from None
    uids = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not uids:
        raise UserError(f"the manifest {path} lists no StudyInstanceUID")
    return uids


def plan_pacs(
    inputs: list[str],
    out: str,
    query_text: str | None,
    manifest: str | None,
    ledger: str | None,
    move_to: str | None = None,
    scheduler: str | None = None,
) -> PacsPlan:
    """Parse, check and probe the PACS ends; list the source's series. UserError else."""
    from deid.pacs.probe import probe
    from deid.pacs.source import list_units

    pacs_inputs = [i for i in inputs if looks_like_endpoint(i)]
    if pacs_inputs and len(inputs) != 1:
        raise UserError("a PACS INPUT must be the only INPUT (one source per run)")
    if query_text and not pacs_inputs:
        raise UserError(
            "--query selects studies of a PACS INPUT (dicomweb+https://... or dimse://...)"
        )
    source = parse_endpoint(pacs_inputs[0]) if pacs_inputs else None
    dest = parse_endpoint(out) if looks_like_endpoint(out) else None
    if dest is not None and not ledger:
        raise UserError("--out to a PACS needs --ledger DIR (where the run's ledger is kept)")
    move = None
    if move_to:
        from deid.pacs.move import parse_move_to
        from deid.pacs.urls import DimseEndpoint

        if not isinstance(source, DimseEndpoint):
            raise UserError("--move-to is for a dimse:// INPUT (C-MOVE)")
        if scheduler:
            raise UserError(
                "--move-to needs the local workers (no --scheduler): the run's own "
                "Storage SCP hands the instances to them through a local folder"
            )
        move = parse_move_to(move_to)
    query = parse_query(query_text)
    if source is not None and manifest:
        query = _with_manifest(query, manifest)
    if source is not None:
        probe(source, "source")
    if dest is not None:
        probe(dest, "dest")
    units = counts = None
    if source is not None:
        listed = list_units(source, query)
        if not listed:
            raise UserError(f"the query selects no series at {source}")
        units, counts = list(listed), list(listed.values())
    return PacsPlan(PacsSetup(source, dest), units, counts, move)


def _with_manifest(query: Query, manifest: str) -> Query:
    from deid.pacs.query import parse_query as parse

    uids = _manifest_uids(manifest)
    checked = parse("&".join(f"StudyInstanceUID={uid}" for uid in uids)).study_uids
    return Query(
        query.study_keys,
        query.series_keys,
        tuple(dict.fromkeys(query.study_uids + checked)),
        query.series_uids,
    )
