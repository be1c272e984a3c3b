"""``throughput.py --pacs``: instances/s of ``deid run`` from one Orthanc to another over
DICOMweb (QIDO-RS listing, WADO-RS fetch, STOW-RS send), beside folder to folder on the
same files, same workers, same round (interleaved, best of each reported).

Two real Orthanc servers (Debian's orthanc and orthanc-dicomweb, started as the PACS tests
start them, on loopback, no authentication) share the machine with deid, as an archive on
the same host would: their CPU time is part of the PACS figure. The source is seeded once
through Orthanc's REST API (not timed); the destination is emptied before every PACS run.
The files are the throughput benchmark's synthetic CTs, regrouped into series of
:data:`SERIES_SIZE` so that both runs cut the same number of partitions of the same size
(a PACS INPUT's partitions count series).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERIES_SIZE = 25
SERIES_PER_PARTITION = 2


def _regroup(files: list[Path]) -> None:
    """New study/series UIDs every SERIES_SIZE files (build_files makes series of 200)."""
    import pydicom
    from pydicom.uid import generate_uid

    study = series = ""
    for i, path in enumerate(files):
        if i % SERIES_SIZE == 0:
            series = generate_uid()
            if i % (SERIES_SIZE * 4) == 0:
                study = generate_uid()
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.save_as(path)


def pacs_throughput(
    count: int,
    size: int,
    workers: list[int],
    workdir: Path,
    repeat: int,
    build_files,
    measured_cli,
    recipe: Path,
) -> None:
    sys.path.insert(0, str(REPO / "tests" / "pacs"))
    from pacs_servers import OrthancServer, find_dicomweb_plugin, find_orthanc

    if find_orthanc() is None or find_dicomweb_plugin() is None:
        print("--pacs needs Debian's orthanc and orthanc-dicomweb (apt-get install them)")
        return
    inputs = workdir / "pacs-in"
    shutil.rmtree(inputs, ignore_errors=True)
    build_files(inputs, count, size)
    files = sorted(p for p in inputs.rglob("IM*"))
    _regroup(files)
    source = OrthancServer("bench-source", "SOURCE", workdir / "orthanc-source")
    dest = OrthancServer("bench-dest", "DEST", workdir / "orthanc-dest")
    try:
        source.start()
        dest.start()
        started = time.perf_counter()
        for path in files:
            if not source.upload(path.read_bytes()):
                raise RuntimeError(f"Orthanc refused {path}")
        print(
            f"seeded the source Orthanc with {count} files in {time.perf_counter() - started:.1f} s"
        )
        best: dict[str, float] = {}
        for round_no in range(1, repeat + 1):
            timings: dict[str, float] = {}
            for n in workers:
                out = workdir / f"pacs-folder{n}"
                data = measured_cli(
                    [
                        "run", str(recipe), str(inputs), "--out", str(out), "--workers", str(n),
                        "--partition-size", str(SERIES_SIZE * SERIES_PER_PARTITION),
                    ],
                    workdir / f"pacs-folder{n}.json",
                )  # fmt: skip
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(f"{out}.ledger", ignore_errors=True)
                if data["returncode"] != 0:
                    print(f"folder run failed ({data['returncode']}): {data['stderr_tail']}")
                    return
                timings[f"folder {n}"] = data["seconds"]
                dest.delete_all()
                ledger = workdir / f"pacs-ledger{n}"
                data = measured_cli(
                    [
                        "run", str(recipe), source.dicomweb_url, "--out", dest.dicomweb_url,
                        "--ledger", str(ledger), "--workers", str(n),
                        "--partition-size", str(SERIES_PER_PARTITION),
                    ],
                    workdir / f"pacs-run{n}.json",
                )  # fmt: skip
                shutil.rmtree(ledger, ignore_errors=True)
                stored = len(dest.instance_uids())
                if data["returncode"] != 0 or stored != count:
                    print(
                        f"PACS run failed ({data['returncode']}, {stored}/{count} stored): "
                        f"{data['stderr_tail']}"
                    )
                    return
                timings[f"pacs {n}"] = data["seconds"]
            print(f"round {round_no}: " + _rates(count, timings, workers))
            for name, value in timings.items():
                best[name] = min(best.get(name, value), value)
        print(f"best of {repeat}: " + _rates(count, best, workers))
    finally:
        source.stop()
        dest.stop()


def _rates(count: int, seconds: dict[str, float], workers: list[int]) -> str:
    parts = []
    for n in workers:
        folder = count / seconds[f"folder {n}"]
        pacs = count / seconds[f"pacs {n}"]
        parts.append(
            f"{n} worker(s): folder->folder {folder:.1f} instances/s, Orthanc->Orthanc "
            f"(DICOMweb) {pacs:.1f} instances/s = {pacs / folder:.2f} of folder"
        )
    return " | ".join(parts)
