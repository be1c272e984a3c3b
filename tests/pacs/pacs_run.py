"""Helpers of the ``deid run`` PACS tests: the CLI as a user runs it, the ledger, downloads.

The CLI runs as a subprocess (its own session, so a test can kill -9 it with its workers),
with the credentials in its environment only, exactly where a coordinator would set them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import requests

REPO = Path(__file__).resolve().parents[2]
RESEARCH_ENV = {
    "DEID_DEST_USERNAME": "deid-research",
    "DEID_DEST_PASSWORD": "research-s3cret-password",
}


def deid_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEID_SOURCE_", "DEID_DEST_")) and k != "DEID_KEY"
    }
    env.update(PYTHONPATH=str(REPO), NETRC=str(tmp_path / "no-netrc"), **extra)
    return env


def deid_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "deid", *args]


def run_deid(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 300):
    return subprocess.run(
        deid_command(*args),
        env=env or deid_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )


def start_deid(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        deid_command(*args),
        env=env or deid_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> None:
    """kill -9 the run and every process it started (its Dask workers and their children)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def ledger_rows(ledger: Path) -> list[dict]:
    rows: list[dict] = []
    for part in sorted((ledger / "files").glob("part-*.parquet")):
        rows += pq.read_table(part).to_pylist()
    return rows


def wait_for(predicate, timeout: float = 120, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def download_all(server, folder: Path) -> dict[str, Path]:
    """Every instance the server holds, through its REST API, as ``<study>/<series>/<sop>.dcm``
    (the layout of a deid output folder); {SOP Instance UID: path}."""
    found = requests.post(
        f"{server.http_url}/tools/find",
        auth=server.auth,
        timeout=30,
        json={"Level": "Instance", "Query": {}, "Expand": True},
    )
    found.raise_for_status()
    paths = {}
    for item in found.json():
        tags = requests.get(
            f"{server.http_url}/instances/{item['ID']}/simplified-tags",
            auth=server.auth,
            timeout=30,
        ).json()
        data = requests.get(
            f"{server.http_url}/instances/{item['ID']}/file", auth=server.auth, timeout=30
        ).content
        path = folder / tags["StudyInstanceUID"] / tags["SeriesInstanceUID"]
        path.mkdir(parents=True, exist_ok=True)
        path = path / f"{tags['SOPInstanceUID']}.dcm"
        path.write_bytes(data)
        paths[tags["SOPInstanceUID"]] = path
    return paths


def local_ledger(ledger: Path, copy: Path, originals: dict[str, Path]) -> Path:
    """A copy of a PACS run's ledger whose ``input_path`` names the originals downloaded
    from the source (``deid verify`` reads inputs from files, not from a PACS)."""
    import shutil

    import pyarrow as pa

    shutil.copytree(ledger, copy)
    for part in sorted((copy / "files").glob("part-*.parquet")):
        table = pq.read_table(part)
        names = [
            str(originals[p.rsplit("/instances/", 1)[1]])
            for p in table.column("input_path").to_pylist()
        ]
        index = table.schema.get_field_index("input_path")
        table = table.set_column(index, "input_path", pa.array(names, pa.string()))
        pq.write_table(table.replace_schema_metadata(pq.read_schema(part).metadata), part)
    return copy
