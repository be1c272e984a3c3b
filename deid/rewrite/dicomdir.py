"""DICOMDIR (Media Storage Directory) files: records rewritten, offsets rebuilt.

A DICOMDIR's Directory Record Sequence items are rewritten like any dataset (PatientName,
PatientID, dates, UIDs ... in PATIENT/STUDY/SERIES/IMAGE records follow the recipe), with
the date offset and pseudonym of the patient each record belongs to.

Decisions:

* The records link to each other by byte offsets ((0004,1200), (0004,1202), (0004,1400),
  (0004,1420)). Rewriting changes lengths, so :func:`capture_links` turns the offsets into
  item indices before anything changes, and the writer calls :func:`rebuild_offsets` to
  turn them back into the offsets of the file it actually writes.
* Type 1 keys of PATIENT/STUDY/SERIES/IMAGE records (:data:`RECORD_TYPE1`, e.g. the
  STUDY record's Study ID and Study Date) get the dummy where the recipe would empty or
  remove them; Type 2 keys (:data:`RECORD_TYPE2`) are emptied where it would remove them.
* Referenced File ID (0004,1500) and File-set Descriptor File ID (0004,1141) name paths of
  the *input* file-set (often with patient names or MRNs in them). Referenced File ID is
  Type 1C (a record that points at a file must have it), so each component is replaced by a
  keyed 8-character token (:meth:`KeyRing.file_id`): the record stays valid and no input
  name survives, but the tokens do not name deid's output files, which are named by their
  new UIDs. The descriptor file ID is removed; File-set ID (0004,1130) is emptied. To
  browse the output as a file-set, build a new DICOMDIR over it (pydicom's ``FileSet``).
  Referenced SOP Instance UID in File is remapped by the table's rule, so each record
  still names the de-identified instance.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from pydicom import Dataset, dcmread
from pydicom.multival import MultiValue

RECORD_SEQUENCE = 0x00041220
ROOT_FIRST = 0x00041200
ROOT_LAST = 0x00041202
NEXT = 0x00041400
LOWER = 0x00041420
REFERENCED_FILE_ID = 0x00041500
DESCRIPTOR_FILE_ID = 0x00041141
FILE_SET_ID = 0x00041130
_LINKS_ATTR = "_deid_record_links"

#: Type 1 keys of the common directory records (PS3.3 F.5): where the recipe would empty
#: or remove one of these, the engine writes the dummy instead (D), so the record stays valid.
RECORD_TYPE1: dict[str, frozenset[int]] = {
    "PATIENT": frozenset({0x00100020}),  # Patient ID
    "STUDY": frozenset({0x00080020, 0x00080030, 0x00200010, 0x0020000D}),  # date, time, ID, UID
    "SERIES": frozenset({0x00080060, 0x0020000E, 0x00200011}),  # modality, UID, number
    "IMAGE": frozenset({0x00200013}),  # Instance Number
}
#: Type 2 keys: where the recipe would remove one, the engine empties it instead (Z).
RECORD_TYPE2: dict[str, frozenset[int]] = {
    "PATIENT": frozenset({0x00100010}),  # Patient's Name
    "STUDY": frozenset({0x00081030, 0x00080050}),  # Study Description, Accession Number
}


def is_dicomdir(dataset: Dataset) -> bool:
    return RECORD_SEQUENCE in dataset


def _value(item: Dataset, tag: int) -> int:
    elem = item.get(tag)
    value = getattr(elem, "value", None)
    return int(value) if isinstance(value, int) else 0


def capture_links(dataset: Dataset) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Record links as item indices (-1 = none); stored on the dataset for the writer."""
    stored = getattr(dataset, _LINKS_ATTR, None)
    if stored is not None:
        return stored
    if not is_dicomdir(dataset):
        return None
    items = list(dataset[RECORD_SEQUENCE].value)
    where = {getattr(item, "seq_item_tell", None): i for i, item in enumerate(items)}
    where.pop(None, None)
    if not where:
        return None  # built in memory: nothing to translate
    links = [(where.get(_value(it, NEXT), -1), where.get(_value(it, LOWER), -1)) for it in items]
    result = (
        where.get(_value(dataset, ROOT_FIRST), -1),
        where.get(_value(dataset, ROOT_LAST), -1),
        links,
    )
    object.__setattr__(dataset, _LINKS_ATTR, result)
    return result


def record_anchors(dataset: Dataset, top_anchor: str) -> dict[int, str]:
    """id(record item) -> the Patient ID of the PATIENT record above it (or ``top_anchor``)."""
    links = capture_links(dataset)
    if links is None:
        return {}
    first, _, nexts = links
    items = list(dataset[RECORD_SEQUENCE].value)
    out: dict[int, str] = {}
    seen: set[int] = set()
    # (index, inherited anchor); walk siblings via "next" and children via "lower".
    todo = [(first, top_anchor)]
    while todo:
        index, anchor = todo.pop()
        while 0 <= index < len(items) and index not in seen:
            seen.add(index)
            item = items[index]
            own = anchor
            if str(item.get("DirectoryRecordType", "")).strip() == "PATIENT":
                pid = str(item.get("PatientID", "") or "").strip()
                own = pid or f"record:{index}"
            out[id(item)] = own
            todo.append((nexts[index][1], own))
            index = nexts[index][0]
    for item in items:
        out.setdefault(id(item), top_anchor)
    return out


def scrub_record(item: Dataset, rename: Callable[[list[str]], list[str]]) -> None:
    """Replace what names the input file-set's paths in one directory record."""
    if REFERENCED_FILE_ID in item:
        value = item[REFERENCED_FILE_ID].value
        components = [str(v) for v in value] if isinstance(value, (list, MultiValue)) else []
        if not components and value:
            components = [str(value)]
        if components:
            item[REFERENCED_FILE_ID].value = rename(components)
        else:
            del item[REFERENCED_FILE_ID]


def scrub_header(dataset: Dataset) -> None:
    if DESCRIPTOR_FILE_ID in dataset:
        del dataset[DESCRIPTOR_FILE_ID]
    if FILE_SET_ID in dataset:
        dataset[FILE_SET_ID].value = ""


def rebuild_offsets(dataset: Dataset, encode: Callable[[Dataset], bytes]) -> bytes:
    """Encode, find where each record landed, write those offsets, encode again."""
    links = capture_links(dataset)
    data = encode(dataset)
    if links is None:
        return data
    first, last, nexts = links
    parsed = dcmread(io.BytesIO(data), force=True)
    positions = [int(getattr(it, "seq_item_tell", 0)) for it in parsed[RECORD_SEQUENCE].value]
    items = list(dataset[RECORD_SEQUENCE].value)
    if len(positions) != len(items) or len(nexts) != len(items):
        return data

    def at(index: int) -> int:
        return positions[index] if 0 <= index < len(positions) else 0

    for item, (nxt, lower) in zip(items, nexts):
        if NEXT in item:
            item[NEXT].value = at(nxt)
        if LOWER in item:
            item[LOWER].value = at(lower)
    if ROOT_FIRST in dataset:
        dataset[ROOT_FIRST].value = at(first)
    if ROOT_LAST in dataset:
        dataset[ROOT_LAST].value = at(last)
    return encode(dataset)


# -- a new file-set over the output ----------------------------------------------------------
#: Type 1 keys of the directory records pydicom's default creators copy from each instance,
#: and the value a record gets where the de-identified instance has none (a recipe empties
#: Study ID, dates and times). Only the record carries it; the instances are copied as they are.
RECORD_FALLBACKS: dict[str, dict[str, object]] = {
    "PATIENT": {"PatientID": "ANONYMIZED"},
    "STUDY": {"StudyDate": "19000101", "StudyTime": "000000", "StudyID": "ANONYMIZED"},
    "SERIES": {"Modality": "OT", "SeriesNumber": 0},
    "IMAGE": {"InstanceNumber": 0},
}


def _with_fallbacks(creator: Callable, fallbacks: dict[str, object]) -> Callable:
    def create(ds: Dataset) -> Dataset:
        missing = [k for k in fallbacks if k not in ds or ds[k].VM == 0]
        if not missing:
            return creator(ds)
        proxy = Dataset()
        proxy.update(ds)  # a shallow copy: the instance itself is not changed
        for keyword in missing:
            if keyword in proxy:  # a new element: the shared one belongs to the instance
                del proxy[keyword]
            setattr(proxy, keyword, fallbacks[keyword])
        return creator(proxy)

    return create


def _sr_document_record(creator: Callable) -> Callable:
    """pydicom copies the whole SR content tree into the record, where its relationship
    types are not valid and which would double every document's text; the record keeps the
    header keys only (PS3.3 F.5.28), Verification DateTime where the flag requires it."""

    def create(ds: Dataset) -> Dataset:
        proxy = Dataset()
        proxy.update(ds)
        if "ContentSequence" in proxy:
            del proxy.ContentSequence
        record = creator(proxy)
        if str(ds.get("VerificationFlag", "")) == "VERIFIED" and not ds.get("VerificationDateTime"):
            record.VerificationDateTime = "19000101000000"
        return record

    return create


def write_fileset(outputs: list, dest) -> int:
    """Copy ``outputs`` (paths of de-identified files) into ``dest`` as a DICOM file-set:
    a DICOMDIR whose records point at every file, under File IDs pydicom's ``FileSet``
    chooses (``PT000000/ST000000/SE000000/IM000000``, valid for media). deid's own output
    names (``<study UID>/<series UID>/<sop UID>.dcm``) cannot be File IDs (8 characters a
    component, A-Z 0-9 _), which is why this is a copy and not a DICOMDIR inside the output.
    Returns the number of instances written."""
    from pathlib import Path

    from pydicom import fileset

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    fs = fileset.FileSet()
    saved = dict(fileset.DIRECTORY_RECORDERS)
    try:
        for kind, fallbacks in RECORD_FALLBACKS.items():
            fileset.DIRECTORY_RECORDERS[kind] = _with_fallbacks(saved[kind], fallbacks)
        fileset.DIRECTORY_RECORDERS["SR DOCUMENT"] = _sr_document_record(saved["SR DOCUMENT"])
        count = 0
        for path in outputs:
            ds = dcmread(path)
            if is_dicomdir(ds):
                continue
            fs.add(ds)
            count += 1
    finally:
        fileset.DIRECTORY_RECORDERS.clear()
        fileset.DIRECTORY_RECORDERS.update(saved)
    fs.ID = "DEID"
    dest.mkdir(parents=True, exist_ok=True)
    fs.write(dest)
    return count
