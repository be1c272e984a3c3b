"""C-MOVE fetch: the archive pushes each instance to a Storage SCP that deid runs itself.

Some archives allow C-MOVE but not C-GET. The Storage SCP runs in the ``deid run`` process
(one listener for the run, on the port the archive knows for deid's AE title) and writes
what it receives, by SOP Instance UID, into an owner-only folder the workers read from; so
this works with local workers only (the default cluster), which the wiring checks. A worker
asks for one instance per C-MOVE on one association and takes the file once the archive
reports the sub-operation done; an instance that does not arrive is a fetch failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

from deid.errors import UserError
from deid.pacs.association import CALLING_AET, new_ae, open_association
from deid.pacs.failures import PacsError
from deid.pacs.refs import InstanceRef, instance_identifier
from deid.pacs.retry import DEFAULT_POLICY, TransientError, with_retry
from deid.pacs.urls import DimseEndpoint

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def parse_move_to(text: str) -> tuple[str, int]:
    """``AET:PORT`` of ``--move-to``: deid's AE title as the archive knows it, and the port."""
    aet, _, port = text.rpartition(":")
    if not aet or not port.isdigit() or not 1 <= int(port) <= 65535 or len(aet) > 16:
        raise UserError(f"--move-to {text!r}: expected AET:PORT (e.g. DEID:11113)")
    return aet, int(port)


class Receiver:
    """The run's Storage SCP: started before the workers, stopped (its folder removed) after."""

    def __init__(self, aet: str, port: int) -> None:
        self.aet, self.port = aet, port
        self.folder = Path(tempfile.mkdtemp(prefix="deid-pacs-move-"))
        self.server: Any = None

    def _on_store(self, event) -> int:
        uid = str(event.request.AffectedSOPInstanceUID or "")
        if not _UID.fullmatch(uid):
            return 0xC000
        tmp = self.folder / f".{uid}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(event.encoded_dataset())
        os.replace(tmp, self.folder / f"{uid}.dcm")
        return 0x0000

    def __enter__(self) -> Receiver:
        ae = AE(ae_title=self.aet)
        ae.supported_contexts = AllStoragePresentationContexts
        try:
            self.server = ae.start_server(
                ("", self.port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, self._on_store)],
            )
        except OSError as error:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise UserError(
                f"--move-to: cannot listen on port {self.port}: {error.strerror}"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.shutdown()
        shutil.rmtree(self.folder, ignore_errors=True)


class MoveSession:
    """C-MOVE instance after instance on one association (reopened if it is lost)."""

    def __init__(self, endpoint: DimseEndpoint, move_aet: str, folder: str, policy=DEFAULT_POLICY):
        self.endpoint, self.move_aet, self.policy = endpoint, move_aet, policy
        self.folder = Path(folder)
        self.assoc: Any = None

    def __exit__(self, *exc) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()
        self.assoc = None

    def fetch(self, ref: InstanceRef) -> bytes:
        def call() -> bytes:
            if self.assoc is None or not self.assoc.is_established:
                ae = new_ae()
                ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
                assoc = open_association(ae, self.endpoint)
                if assoc.is_rejected:
                    raise PacsError(f"{self.endpoint}: association rejected (AE {CALLING_AET!r})")
                if not assoc.is_established:
                    raise TransientError(f"{self.endpoint}: no association (connection refused)")
                self.assoc = assoc
            identifier = instance_identifier(ref)
            final = None
            for status, _ in self.assoc.send_c_move(
                identifier, self.move_aet, StudyRootQueryRetrieveInformationModelMove
            ):
                final = getattr(status, "Status", None)
                if final is None:
                    self.assoc = None
                    raise TransientError(f"C-MOVE {ref.sop_uid} at {self.endpoint}: no answer")
            path = self.folder / f"{ref.sop_uid}.dcm"
            if final != 0x0000 or not path.exists():
                raise PacsError(
                    f"C-MOVE {ref.sop_uid} at {self.endpoint} to {self.move_aet}: status "
                    f"0x{(final or 0):04X}, {'received' if path.exists() else 'not received'}"
                )
            data = path.read_bytes()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return data

        return with_retry(call, f"C-MOVE {ref.sop_uid} at {self.endpoint}", self.policy)
