"""PACS endpoints as sources and destinations: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and DIMSE
(C-FIND, C-GET, C-STORE), built on dicomweb-client and pynetdicom.

One module per job: ``urls`` (parse ``dicomweb+http(s)://`` and ``dimse://`` endpoints),
``query`` (``--query`` matching keys), ``auth`` (credentials from the environment or netrc),
``retry`` (bounded backoff for transient errors), ``qido``/``wado``/``stow`` and
``cfind``/``cget``/``cstore``/``move``. ``deid run`` uses them through ``wiring`` (checks,
probes and the plan, before anything starts), ``source`` (a worker's listing and fetch),
``sink`` (its send) and ``step`` (one partition: fetch, the normal per-file step, send).
"""

from deid.pacs.failures import PacsError
from deid.pacs.refs import InstanceRef, SendResult, SeriesRef, StudyRef
from deid.pacs.urls import DicomwebEndpoint, DimseEndpoint, parse_endpoint

__all__ = [
    "DicomwebEndpoint",
    "DimseEndpoint",
    "InstanceRef",
    "PacsError",
    "SendResult",
    "SeriesRef",
    "StudyRef",
    "parse_endpoint",
]
