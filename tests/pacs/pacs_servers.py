"""Real Orthanc servers for the PACS tests: Debian's ``orthanc`` and its DICOMweb plugin.

Why real servers: DICOMweb and DIMSE clients are only as right as what a real archive accepts and
answers (its multipart framing, its QIDO matching, its association negotiation, its 401). Each
server gets free loopback ports, its own JSON config, storage folder and AE title, and runs in its
own process group, so that stopping it (or a test failing) never leaves an Orthanc behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ORTHANC_BINARIES = ("Orthanc", "/usr/sbin/Orthanc")
# Where Debian's orthanc-dicomweb puts the plugin (dpkg -L orthanc-dicomweb).
DICOMWEB_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
STARTUP_TIMEOUT_S = 30.0


def find_orthanc() -> str | None:
    """The Orthanc binary (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    for candidate in ORTHANC_BINARIES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def find_dicomweb_plugin() -> str | None:
    for candidate in DICOMWEB_PLUGIN_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    lib = Path("/usr/lib/orthanc")
    if lib.is_dir():
        for path in sorted(lib.glob("libOrthancDicomWeb.so*")):
            return str(path)
    return None


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it; Orthanc binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OrthancServer:
    """One Orthanc process: its ports, AE title, folder and (when set) its one registered user."""

    name: str
    aet: str
    root: Path
    users: dict[str, str] = field(default_factory=dict)
    peers: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    #: Keys merged over the generated configuration (e.g. DICOM TLS).
    extra_config: dict = field(default_factory=dict)
    http_port: int = 0
    dicom_port: int = 0
    process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The endpoint as deid names it (``dicomweb+http://host:port/dicom-web``)."""
        return f"dicomweb+http://127.0.0.1:{self.http_port}/dicom-web"

    @property
    def dimse_url(self) -> str:
        return f"dimse://{self.aet}@127.0.0.1:{self.dicom_port}"

    @property
    def auth(self) -> tuple[str, str] | None:
        return next(iter(self.users.items())) if self.users else None

    def config(self) -> dict:
        plugin = find_dicomweb_plugin()
        storage = self.root / "storage"
        return {
            "Name": self.name,
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "Plugins": [plugin] if plugin else [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "DicomServerEnabled": True,
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            # A called AE title other than ours is refused: the "unknown AE title" case.
            "DicomCheckCalledAet": True,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomModalities": {k: list(v) for k, v in self.peers.items()},
            "UnknownSopClassAccepted": True,
            "OverwriteInstances": True,
            "StableAge": 1,
            "SaveJobs": False,
            "HttpThreadsCount": 8,
            "DicomThreadsCount": 4,
            "ConcurrentJobs": 1,
            "DicomAssociationCloseDelay": 0,
            "OrthancExplorerEnabled": False,
            "WebDavEnabled": False,
            "MetricsEnabled": False,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
            **self.extra_config,
        }

    def start(self, keep_ports: bool = False) -> None:
        """Start on free ports; ``keep_ports``: on the ports of the last start (a restart,
        with the same storage, as an archive coming back after an outage)."""
        binary = find_orthanc()
        if binary is None:
            raise RuntimeError("Orthanc is not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        if not (keep_ports and self.http_port and self.dicom_port):
            self.http_port, self.dicom_port = free_port(), free_port()
        config_path = self.root / "orthanc.json"
        config_path.write_text(json.dumps(self.config(), indent=2))
        log = open(self.root / "orthanc.log", "ab")  # noqa: SIM115 (lives as long as the process)
        self.process = subprocess.Popen(
            [binary, "--logdir=" + str(self.root), str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Orthanc {self.name} exited at start-up: {self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc {self.name} did not answer in {STARTUP_TIMEOUT_S} s")

    def _answers(self) -> bool:
        try:
            reply = requests.get(f"{self.http_url}/system", auth=self.auth, timeout=1)
            if reply.status_code != 200:
                return False
            with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=1):
                return True
        except (requests.RequestException, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM the whole process group, then SIGKILL if it lingers: no orphan Orthanc."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:  # a clean stop takes ~3 s (jobs engine); the storage is a test's, so do not wait
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        logs = [*sorted(self.root.glob("Orthanc*.log*")), self.root / "orthanc.log"]
        text = "".join(p.read_text(errors="replace") for p in logs if p.is_file())
        return "\n".join(text.splitlines()[-lines:])

    # --- the REST API, used by tests to seed and inspect (never by deid itself) ---

    def upload(self, data: bytes) -> bool:
        """POST one file to /instances; False when Orthanc refuses it (not DICOM, no header)."""
        reply = requests.post(f"{self.http_url}/instances", data=data, auth=self.auth, timeout=30)
        return reply.status_code == 200

    def instance_uids(self) -> set[str]:
        """Every SOP Instance UID the server stores now."""
        reply = requests.post(
            f"{self.http_url}/tools/find",
            auth=self.auth,
            timeout=30,
            json={"Level": "Instance", "Query": {}, "Expand": True},
        )
        reply.raise_for_status()
        return {item["MainDicomTags"]["SOPInstanceUID"] for item in reply.json()}

    def delete_all(self) -> None:
        reply = requests.get(f"{self.http_url}/patients", auth=self.auth, timeout=30)
        reply.raise_for_status()
        for patient in reply.json():
            requests.delete(f"{self.http_url}/patients/{patient}", auth=self.auth, timeout=30)
