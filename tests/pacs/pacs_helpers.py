"""Small helpers of the PACS tests: a fresh instance to send, a quick retry policy."""

from __future__ import annotations

from io import BytesIO

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from deid.pacs.retry import RetryPolicy

FAST = RetryPolicy(attempts=3, first_delay_s=0.05, max_delay_s=0.1)


def fresh_instance(study_uid: str | None = None) -> tuple[bytes, str]:
    """pydicom's CT_small with new study/series/instance UIDs: (Part 10 bytes, SOP UID)."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), str(ds.SOPInstanceUID)
