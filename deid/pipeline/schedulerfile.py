"""``--scheduler-file FILE``: the scheduler address as dask-jobqueue and dask-mpi hand it out.

Why: on an HPC cluster the scheduler starts inside a batch job (``dask-mpi``, or
``dask scheduler --scheduler-file`` in a SLURM script) and nobody knows its address in
advance; it writes a JSON file (``{"address": "tcp://10.0.3.7:8786", ...}``) on the shared
home or scratch, and clients join through it. A missing file, or one without an address, is
one line and exit 2, like a wrong ``--scheduler``.
"""

from __future__ import annotations

import json

from deid.errors import UserError


def address_from_file(path: str) -> str:
    """The ``address`` a Dask scheduler file records."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise UserError(
            f"--scheduler-file {path}: no such file (has the scheduler started yet?)"
        ) from None
    except OSError as error:
        raise UserError(f"--scheduler-file {path}: cannot read it: {error.strerror}") from None
    except ValueError:
        raise UserError(f"--scheduler-file {path}: not a Dask scheduler file (not JSON)") from None
    address = data.get("address") if isinstance(data, dict) else None
    if not isinstance(address, str) or not address:
        raise UserError(f"--scheduler-file {path}: not a Dask scheduler file (no address)")
    return address
