"""Every pydicom test file de-identifies to readable bytes or fails with a clear error."""

from __future__ import annotations

import io
import os
import warnings

import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.errors import InvalidDicomError
from rewrite_support import shipped

from deid.rewrite.engine import deidentify
from deid.rewrite.keyring import KeyRing
from deid.rewrite.quarantine import QuarantineError
from deid.rewrite.writer import encode_part10

#: What "a clear error" may be: the engine's own, or pydicom's for unreadable input.
CLEAR_ERRORS = (QuarantineError, InvalidDicomError, EOFError)
MAX_BYTES = 8 * 1024 * 1024


def _files() -> list[str]:
    return sorted(
        f
        for f in get_testdata_files()
        if os.path.getsize(f) <= MAX_BYTES
        and not f.endswith((".txt", ".json", ".dump", ".icc", ".gz", "README"))
    )


def test_whole_corpus() -> None:
    keys = KeyRing(b"corpus")
    recipe = shipped("basic")
    unexpected: list[str] = []
    written = quarantined = 0
    for path in _files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True, defer_size=1 << 16)
            except CLEAR_ERRORS:
                continue
            except Exception as exc:  # pydicom may fail on corrupt input: that is its error
                if "deid" in type(exc).__module__:
                    unexpected.append(f"{path}: read {type(exc).__name__}")
                continue
            try:
                result = deidentify(ds, recipe, keys)
                data = encode_part10(result.dataset)
                out = pydicom.dcmread(io.BytesIO(data))
                assert out.PatientIdentityRemoved == "YES"
                written += 1
            except CLEAR_ERRORS:
                quarantined += 1
            except Exception as exc:
                unexpected.append(f"{os.path.basename(path)}: {type(exc).__name__}: {exc}")
    assert not unexpected, "\n".join(unexpected)
    assert written > 200, (written, quarantined)


@pytest.mark.parametrize("name", ["rtplan.dcm", "rtstruct.dcm", "rtdose.dcm", "waveform_ecg.dcm"])
def test_references_in_rt_and_waveform_files_consistent(name) -> None:
    """Every UID reference in the output is either a remapped UID of the map or well-known."""
    from pydicom.data import get_testdata_file

    from deid.dicom.uids import is_well_known_uid

    keys = KeyRing(b"rt")
    ds = pydicom.dcmread(get_testdata_file(name), force=True)
    originals = {str(e.value) for e in ds.iterall() if e.VR == "UI" and e.value}
    result = deidentify(ds, shipped("basic"), keys)
    out = pydicom.dcmread(io.BytesIO(encode_part10(ds)))
    remapped = set(result.uid_map.values())
    for elem in out.iterall():
        if elem.VR == "UI" and elem.value:
            value = str(elem.value)
            assert value in remapped or is_well_known_uid(value), (elem.keyword, value)
    assert not {o for o in originals if not is_well_known_uid(o)} - set(result.uid_map)


def test_corrupted_inputs_fail_clearly() -> None:
    """Seeded byte corruption of real files: every dataset pydicom can read either becomes
    bytes pydicom reads back, or a QuarantineError; never another exception."""
    import random

    from pydicom.data import get_testdata_file

    names = ["CT_small.dcm", "test-SR.dcm", "rtplan.dcm", "MR_small_implicit.dcm", "DICOMDIR"]
    sources = [open(get_testdata_file(n), "rb").read() for n in names]  # noqa: SIM115
    rng = random.Random(20261126)
    keys, recipe = KeyRing(b"fuzz"), shipped("basic")
    unexpected = []
    for _ in range(250):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(132, min(len(data), 3000))] = rng.randrange(256)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(io.BytesIO(bytes(data)), force=True)
            except Exception:
                continue  # pydicom's own refusal: the pipeline quarantines it
            try:
                output = encode_part10(deidentify(ds, recipe, keys).dataset)
            except QuarantineError:
                continue
            except Exception as exc:
                unexpected.append(f"{type(exc).__name__}: {exc}")
                continue
            pydicom.dcmread(io.BytesIO(output))
    assert not unexpected, "\n".join(unexpected[:5])
