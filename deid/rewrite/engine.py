"""The rewriting engine: one pass over every element at every nesting level.

``deidentify(dataset, recipe, keys)`` applies the recipe's action to each element, in
place, and returns what the ledger needs. How it works and why:

* **One walk, no recursion.** Datasets wait on an explicit stack, so a sequence nested 500
  deep costs memory, not Python stack. Each element is visited once.
* **Kept elements are never decoded.** The rule is chosen from the tag and a VR learned
  from the raw element (or the dictionary for Implicit VR); a kept element stays the bytes
  pydicom read, so Pixel Data is never touched and an unknown charset can't break a kept
  value. Only elements that change are decoded or replaced.
* **Rules.** ``recipe.rule_for(tag, vr)`` for standard attributes (None = keep: the
  recipe's safety-net layer decides for attributes the table does not list),
  ``recipe.rule_for_private(PrivateKey(group, creator, element_low_byte), vr)`` for private
  ones. Action meanings:

  ===========  ================================================================
  X            remove (a sequence with all its items)
  Z            zero length (a sequence: no items)
  D            the VR's dummy (:mod:`deid.rewrite.vr`); on UI: the keyed UID;
               on SQ: keep the items and clean them by the rules
  K            keep; a sequence is kept and its items cleaned by the rules
  U            keyed UID (:meth:`KeyRing.uid`) of each value, except well-known UIDs
               (in pydicom's UID dictionary or under 1.2.840.10008.); on SQ: recurse
  C            clean, by VR: DA/DT shifted (or kept, or emptied) per ``recipe.dates``,
               TM kept (a whole-day shift leaves times alone); LO SH ST LT UT UC
               without this dataset's identifying values and the recipe's text
               patterns (:mod:`deid.rewrite.textclean`), except coded values (Code
               Value, Coding Scheme Designator ...: :data:`CODED_TAGS`), which come
               from coding schemes and would break if a name matched a code (kept,
               under the residual guard like any kept code); a value that was
               nothing but identifying becomes the VR's dummy; PN: Patient's
               Name becomes the pseudonym (or empty), any other name empty; AE:
               ``DEID``; AS: kept, but ages over 89 years become ``090Y`` (the HIPAA
               Safe Harbor cap); UI: keyed UID; SQ: recurse; CS, numbers, AT: kept
               (coded values and measurements; CS guarded); UR: emptied; OB/OW/UN and other
               binary: removed (binary cannot be cleaned)
  compound     resolved by :mod:`deid.rewrite.iod` (X/Z/U* keeps the references)
  replace      the rule's value
  pseudonym    Patient ID: ``KeyRing.patient_pseudonym(original ID, prefix)``;
               a PN: that pseudonym, or empty with ``patient.name: empty``
  ===========  ================================================================

* **UIDs.** Every remapped UID goes through the same keyed function, so references
  (Referenced SOP Instance UID, Frame of Reference, Source Image Sequence ...) keep
  pointing at the right, remapped, instance; ``uid_map`` lists each pair. With
  ``recipe.uids.mode == "keep"`` (Retain UIDs) no UID is remapped, whatever layer asks.
* **Private attributes.** Each element's creator is read from its block's (gggg,00xx)
  element. No creator, group lengths, and the reserved (gggg,0001-000F)/(gggg,0100-0FFF)
  ranges: removed. No rule: removed. ``C`` (the table's Retain Safe Private cell) keeps
  exactly the keys in ``recipe.safe_private`` (Table E.3.10-1: creator + element, never
  the group alone). Those kept "safe" values are still Cleaned of this dataset's identity
  (text) or emptied (PN): the table vouches for what a vendor meant to store, not for
  what a site typed into it. A creator element whose whole block was removed goes too.
* **Residual guard.** Values kept without a rule naming them (no rule, the VR safety
  net's K, the safe private table, codes that Clean keeps) and compressed Pixel Data
  (JPEG COM/APPn segments) are searched for the removed Patient ID and whole Patient's
  Name (:mod:`deid.rewrite.residual`): text is cleaned, a name emptied, bytes removed,
  and a code or the pixel data quarantines the file.
* **Reasons.** Every :class:`QuarantineError` leaving :func:`deidentify` is scrubbed of
  quoted values and of this dataset's identifying values (:func:`scrub_reason`).
* **Repeating groups.** 60xx: rules by ``(0x6000, element)``; when Overlay Data goes the
  whole overlay group goes (an overlay without its data is invalid); Clean Graphics ``C``
  on Overlay Data keeps it only when the pixel step scans overlays
  (``pixels.overlays == "scan"``), else removes it. 50xx (retired curves): removed unless
  a rule explicitly keeps them (curves cannot be cleaned).
* **Group lengths** (gggg,0000) are removed everywhere (they would be wrong after
  rewriting); command (0000,xxxx) and file meta (0002,xxxx) elements found in the body
  are removed (they never belong in a stored dataset, pydicom refuses to write the
  former, and the writer builds a new header).
* **Pixels.** ``deid.pixels.clean_pixels`` runs first, on the untouched header, when
  ``recipe.pixels.enabled``; its ``quarantine_reason`` becomes a :class:`QuarantineError`.
* **Marking.** Patient Identity Removed = YES, De-identification Method (deid, version,
  recipe name, digest prefix), the Method Code Sequence from ``recipe.method_codes()``
  and Longitudinal Temporal Information Modified per the date policy (REMOVED /
  UNMODIFIED / MODIFIED). Burned In Annotation is the pixel step's business.
* **Free text is cleaned last.** Identifying values are gathered from the top level
  before anything changes, and every Person Name met in a nested item (SR content,
  physician sequences, DICOMDIR records) is added as the walk meets it; the text
  elements to Clean are queued and cleaned once the walk is over, so a name that only
  appears deep in an SR tree still disappears from a description at the top.
* **DICOMDIR.** See :mod:`deid.rewrite.dicomdir` (records get their patient's pseudonym
  and date offset, Type 1/2 record keys stay present, file references are removed).
* **Failures.** An element that cannot be decoded where its value is needed is removed
  (removal is always safe). A dataset that cannot be iterated at all raises
  :class:`QuarantineError`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydicom import Dataset, config
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from deid.dicom.privates import is_safe_private_keep
from deid.dicom.sop import sop_instance_uid
from deid.dicom.uids import is_well_known_uid
from deid.recipe.model import Recipe, Rule
from deid.rewrite import dicomdir, iod
from deid.rewrite.dates import shift_da, shift_dt
from deid.rewrite.keyring import KeyRing
from deid.rewrite.marking import mark
from deid.rewrite.private_rules import private_creators, private_rule
from deid.rewrite.quarantine import QuarantineError, value_free
from deid.rewrite.residual import ResidualGuard
from deid.rewrite.textclean import (
    UNSURE,
    Identifiers,
    TextCleaner,
    gather_identifiers,
    peek_value,
)
from deid.rewrite.vr import (
    BINARY_VRS,
    DUMMY_AE,
    NUMBER_VRS,
    TEXT_VRS,
    dummy_value,
    element_vr,
    empty_value,
)
from deid.rewrite.writer import (
    convert_big_endian,
    output_transfer_syntax,
    transfer_syntax_of,
)
from deid.text.finder import redact
from deid.text.scope import is_free_text

if TYPE_CHECKING:
    from deid.pixels.outcome import PixelOutcome

PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018
STUDY_INSTANCE_UID = 0x0020000D
SERIES_INSTANCE_UID = 0x0020000E
OVERLAY_DATA = 0x3000
PIXEL_DATA = 0x7FE00010
#: Coded values (SH/LO/UC) that the VR safety net would Clean as free text: they come from
#: coding schemes, not people, and emptying one breaks the code (Type 1 in code macros).
CODED_TAGS = frozenset(
    {
        0x00080100,  # Code Value
        0x00080102,  # Coding Scheme Designator
        0x00080103,  # Coding Scheme Version
        0x00080105,  # Mapping Resource
        0x00080107,  # Context Group Local Version
        0x0008010F,  # Context Identifier
        0x00080119,  # Long Code Value
        0x00080120,  # URN Code Value
        0x00080122,  # Mapping Resource Name
    }
)
COMPOUND = frozenset({"Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})
AGE_CAP = "090Y"


@dataclass
class Deidentified:
    """What :func:`deidentify` did to one dataset, for the writer and the ledger."""

    dataset: Dataset
    uid_map: dict[str, str] = field(default_factory=dict)
    patient_id_in: str = ""
    patient_pseudonym: str = ""
    date_offset_days: int | None = None
    sop_instance_uid_in: str = ""
    series_instance_uid_in: str = ""
    study_instance_uid_in: str = ""
    pixel: PixelOutcome | None = None
    transfer_syntax_in: str = ""
    transfer_syntax_out: str = ""
    #: Things the ledger or a log may want to say (never values), e.g. a converted encoding.
    notes: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip(" \x00")


class _Run:
    """State of one ``deidentify`` call: the recipe, keys and per-anchor caches."""

    def __init__(
        self,
        dataset: Dataset,
        recipe: Recipe,
        keys: KeyRing,
        identifiers: Identifiers | None = None,
    ) -> None:
        self.recipe = recipe
        self.keys = keys
        self.uid_map: dict[str, str] = {}
        self.keep_uids = recipe.uids.mode == "keep"
        self.dates = recipe.dates
        self.prefix = recipe.patient.id_prefix
        self.sop_class = _text(_top_value(dataset, SOP_CLASS_UID, recipe))
        # Patient Species Description / Code Sequence (tags: a keyword costs a lookup)
        self.is_animal = 0x00102201 in dataset or 0x00102202 in dataset
        self.scan_overlays = recipe.pixels.enabled and recipe.pixels.overlays == "scan"
        if identifiers is None:
            identifiers = gather_identifiers(dataset, recipe, element_vr)
        self.identifiers: Identifiers = identifiers
        self.guard = ResidualGuard(dataset, recipe, element_vr)
        #: Text elements to Clean once every name of the dataset is known: (ds, tag, vr,
        #: free), ``free`` when the value is free text Clean keeps (names and identifiers
        #: the header does not know are searched there too, :mod:`deid.text.finder`).
        self.pending_text: list[tuple[Dataset, int, str, bool]] = []
        #: Undecoded safe private values to check the same way: (ds, tag).
        self.pending_bytes: list[tuple[Dataset, int]] = []
        self._offsets: dict[str, int] = {}
        self._pseudonyms: dict[str, str] = {}
        self.anchors: dict[int, str] = {}
        self.root = dataset

    # -- keyed values -------------------------------------------------------------------
    def offset(self, anchor: str) -> int:
        days = self._offsets.get(anchor)
        if days is None:
            days = self.keys.date_offset_days(anchor, self.dates.min_days, self.dates.max_days)
            self._offsets[anchor] = days
        return days

    def pseudonym(self, patient_id: str) -> str:
        value = self._pseudonyms.get(patient_id)
        if value is None:
            value = self.keys.patient_pseudonym(patient_id, self.prefix)
            self._pseudonyms[patient_id] = value
        return value

    def uid(self, value: str) -> str:
        value = _text(value)
        if not value or self.keep_uids or is_well_known_uid(value):
            return value
        new = self.uid_map.get(value)
        if new is None:
            new = self.keys.uid(value)
            self.uid_map[value] = new
        return new


def _anchor_of(dataset: Dataset) -> str:
    """Whose dates and pseudonym: the Patient ID, else the Study Instance UID."""
    pid = _text(dataset.get("PatientID", ""))
    if pid:
        return pid
    study = _text(dataset.get("StudyInstanceUID", ""))
    return f"study:{study}" if study else ""


def _values(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


#: VRs whose values are plain ASCII whatever the character set: read straight from the raw
#: bytes, skipping pydicom's conversion and validation (most of a rewrite's cost).
_ASCII_VRS = frozenset({"UI", "DA", "DT", "TM", "AS"})
#: Clean keeps coded strings and numbers: they carry codes and measurements, not people.
_KEPT_BY_CLEAN = frozenset({"CS", "DS", "IS"}) | NUMBER_VRS


def _strings(ds: Dataset, tag: int, vr: str) -> list[str]:
    """The values of an ASCII-VR element as strings, decoding raw bytes directly."""
    raw = ds.get_item(tag)
    if vr in _ASCII_VRS and getattr(raw, "is_raw", False) and isinstance(raw.value, bytes):
        text = raw.value.decode("ascii", "replace").strip(" \x00")
        return text.split("\\") if text else [""]
    return [_text(v) for v in _values(ds[tag].value)]


def _set(ds: Dataset, tag: int, vr: str, values: list[Any] | Any) -> None:
    """Replace an element by a fresh one (never decode the old value to overwrite it)."""
    if isinstance(values, list):
        values = values[0] if len(values) == 1 else values
    # Values come from this module (dummies, keyed UIDs, shifted dates, cleaned text):
    # validating each one again costs ~8% of a file's rewrite for nothing.
    ds[tag] = DataElement(tag, vr, values, validation_mode=config.IGNORE)


def _push_items(ds: Dataset, tag: int, anchor: str, run: _Run, stack: list) -> bool:
    try:
        seq = ds[tag].value
    except Exception:
        del ds[tag]
        return False
    if not isinstance(seq, Sequence):  # a sequence pydicom could not parse: can't be cleaned
        del ds[tag]
        return False
    for item in seq:
        stack.append((item, run.anchors.get(id(item), anchor)))
    return True


def _clean(
    ds: Dataset, tag: int, vr: str, anchor: str, run: _Run, stack: list, free: bool = True
) -> bool:
    """Action C by VR (see the module docstring); True if the element is still there.

    ``free``: the value is free text whose unlisted names are searched too
    (:func:`deid.text.scope.is_free_text`)."""
    if vr == "SQ":
        return _push_items(ds, tag, anchor, run, stack)
    if vr in BINARY_VRS:
        del ds[tag]
        return False
    if vr in _KEPT_BY_CLEAN:  # codes and numbers: kept, and guarded like any kept code
        return _guard(ds, tag, vr, run)
    if vr == "TM" or (vr in ("DA", "DT") and run.dates.mode == "keep"):
        return True
    if vr == "AE":
        _set(ds, tag, vr, DUMMY_AE)
    elif vr == "UR":
        _set(ds, tag, vr, "")
    elif vr == "PN":
        if tag == PATIENT_NAME:
            return _pseudonym(ds, tag, vr, anchor, run)
        _set(ds, tag, vr, "")
    elif vr in ("DA", "DT") and run.dates.mode != "shift":
        _set(ds, tag, vr, "")
    elif vr == "DA":
        days = run.offset(anchor)
        _set(ds, tag, vr, [shift_da(v, days) for v in _strings(ds, tag, vr)])
    elif vr == "DT":
        days = run.offset(anchor)
        _set(ds, tag, vr, [shift_dt(v, days) for v in _strings(ds, tag, vr)])
    elif vr == "AS":
        _set(ds, tag, vr, [_cap_age(v) for v in _strings(ds, tag, vr)])
    elif vr == "UI":
        _set(ds, tag, vr, [run.uid(v) for v in _strings(ds, tag, vr)])
    elif vr in TEXT_VRS:
        if tag in CODED_TAGS:  # a code: kept, and guarded like any kept code
            return _guard(ds, tag, vr, run)
        run.pending_text.append((ds, tag, vr, free))  # cleaned when every name is known
    else:  # a VR we have no cleaning for: nothing leaks if it goes
        del ds[tag]
        return False
    return True


def _keep_safe_private(ds: Dataset, tag: int, vr: str, anchor: str, run: _Run, stack: list) -> bool:
    """Retain Safe Private (``C`` on a key of Table E.3.10-1): the value is kept, but the
    table vouches for what a vendor *meant* to store, not for what a site typed into it.
    So free text is cleaned like any Clean text (the patient's name or ID typed into a
    "safe" sequence-name field must not survive), a person name is emptied, and undecoded
    bytes (UN) are checked against the same identifiers once they are all known."""
    if vr == "SQ":
        return _push_items(ds, tag, anchor, run, stack)
    if vr in TEXT_VRS:
        run.pending_text.append((ds, tag, vr, False))
    elif vr == "PN":
        _set(ds, tag, vr, "")
    elif vr == "UN":
        run.pending_bytes.append((ds, tag))
    else:
        return _guard(ds, tag, vr, run)
    return True


#: Kept values the residual guard reads: text, codes, names, AE titles, URIs, undecoded
#: bytes. Not numbers, dates or UIDs (a short numeric ID would "match" inside them).
_GUARDED_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR", "UN"})


def _guard(ds: Dataset, tag: int, vr: str, run: _Run) -> bool:
    """A kept element holding the removed Patient ID or Name (:mod:`deid.rewrite.residual`):
    free text is cleaned, a name emptied, bytes removed, anything else (a code: CS or one
    of :data:`CODED_TAGS`, a number ...) quarantines the file. True if the element is
    still there."""
    if vr not in _GUARDED_VRS or not run.guard or not run.guard.holds_identity(ds, tag):
        return True
    if vr in TEXT_VRS and tag not in CODED_TAGS:  # a code cleaned would be a broken code
        run.pending_text.append((ds, tag, vr, False))
        return True
    if vr == "PN":
        _set(ds, tag, vr, "")
        return True
    if vr == "UN":
        del ds[tag]
        return False
    raise QuarantineError(
        f"the patient ID or name is in kept attribute ({tag >> 16:04X},{tag & 0xFFFF:04X})"
        f" {vr}, which cannot be cleaned"
    )


def _check_encapsulated(dataset: Dataset, run: _Run) -> None:
    """Quarantine a file whose compressed Pixel Data carries the patient's ID or name
    (JPEG COM / APPn segments): the pixel bytes are kept as they are, and ``deid verify``
    does not scan bulk pixel data."""
    if not run.guard:
        return
    raw = dataset.get_item(PIXEL_DATA, keep_deferred=True)
    value = getattr(raw, "value", None)
    if not isinstance(value, (bytes, bytearray)):
        return
    try:
        encapsulated = transfer_syntax_of(dataset).is_encapsulated
    except Exception:
        encapsulated = value[:4] == b"\xfe\xff\x00\xe0"  # an Item tag: fragments
    if encapsulated and run.guard.in_bulk(bytes(value)):
        raise QuarantineError(
            "the patient ID or name is in the compressed pixel data"
            " (e.g. a JPEG comment or application segment)"
        )


def _check_bytes(ds: Dataset, tag: int, cleaner: TextCleaner) -> None:
    """Remove an undecoded value whose text (read as Latin-1) holds an identifying value."""
    try:
        value = ds.get_item(tag).value
        text = bytes(value).decode("latin-1") if value else ""
    except Exception:  # cannot be read: cannot be shown to be clean
        text = None
    if (text is None or (text and cleaner.clean(text) != text)) and tag in ds:
        del ds[tag]


def _clean_text(ds: Dataset, tag: int, vr: str, cleaner: TextCleaner, free: bool) -> None:
    """Clean one text element: its values without the dataset's identifying values and,
    for free text (``free``), without the names and identifiers no header states
    (:func:`deid.text.finder.redact`: replaced by placeholders such as ``[name]``)."""
    try:
        texts = ["" if v is None else str(v) for v in _values(ds[tag].value)]
        cleaned = [cleaner.clean(t) for t in texts]
        if free:
            cleaned = [redact(c) for c in cleaned]
        if cleaned != texts:
            # A value that was nothing but identifying becomes the dummy, so a Type 1
            # label (e.g. Structure Set Label = the Study ID) stays present and valid.
            filled: list[Any] = [
                c if c or not t.strip() else dummy_value(vr) for c, t in zip(cleaned, texts)
            ]
            _set(ds, tag, vr, filled)
    except Exception:  # undecodable text cannot be shown to be clean
        if tag in ds:
            del ds[tag]


def _cap_age(age: str) -> str:
    """Ages over 89 years become 090Y; months, weeks and days are kept."""
    if len(age) == 4 and age[:3].isdigit() and age[3] == "Y" and int(age[:3]) > 89:
        return AGE_CAP
    return age


def _pseudonym(ds: Dataset, tag: int, vr: str, anchor: str, run: _Run) -> bool:
    if tag == PATIENT_ID:
        own = _text(ds[tag].value)
        _set(ds, tag, vr, run.pseudonym(own or anchor))
    elif vr == "PN":
        name = run.pseudonym(anchor) if run.recipe.patient.name == "pseudonym" else ""
        _set(ds, tag, vr, name)
    elif vr in TEXT_VRS:
        _set(ds, tag, vr, run.pseudonym(anchor))
    else:
        del ds[tag]
        return False
    return True


def _apply(ds: Dataset, tag: int, vr: str, rule: Rule, anchor: str, run: _Run, stack: list) -> bool:
    """Carry out one rule on one element that exists in ``ds``; True if it is still there."""
    action = rule.action
    if action in COMPOUND or (action == "X" and (tag in iod.TYPES or tag in iod.NESTED_TYPES)):
        action = iod.resolve(action, tag, run.sop_class, run.is_animal, ds is not run.root)
    if action == "K":
        if vr == "SQ":
            return _push_items(ds, tag, anchor, run, stack)
        # a row that names the attribute keeps it verbatim; the VR safety net's K does not
        return _guard(ds, tag, vr, run) if rule.origin.layer == "safety-net" else True
    if action == "X":
        del ds[tag]
        return False
    if vr == "SQ":
        if action == "Z":
            ds[tag] = DataElement(tag, "SQ", Sequence())
            return True
        # D, C, U on a sequence: keep the items, every attribute in them by its rule
        return _push_items(ds, tag, anchor, run, stack)
    try:
        if action == "Z":
            _set(ds, tag, vr, empty_value(vr))
        elif action == "D":
            if vr == "UI":
                _set(ds, tag, vr, [run.uid(v) or dummy_uid(run) for v in _strings(ds, tag, vr)])
            else:
                _set(ds, tag, vr, dummy_value(vr))
        elif action == "U":
            if vr != "UI":  # a UID rule on something that is not a UID: nothing to keep
                del ds[tag]
                return False
            _set(ds, tag, vr, [run.uid(v) for v in _strings(ds, tag, vr)])
        elif action == "C":
            return _clean(ds, tag, vr, anchor, run, stack, is_free_text(rule, vr))
        elif action == "replace":
            _set(ds, tag, vr, _typed(rule.value or "", vr))
        elif action == "pseudonym":
            return _pseudonym(ds, tag, vr, anchor, run)
        else:  # unknown code: the conservative choice
            del ds[tag]
            return False
    except QuarantineError:
        raise
    except Exception:
        # The value could not be decoded or re-encoded: removal is always safe.
        if tag in ds:
            del ds[tag]
        return False
    return True


def dummy_uid(run: _Run) -> str:
    return run.keys.uid("deid:dummy")


def _typed(value: str, vr: str) -> Any:
    if vr in ("FL", "FD"):
        return [float(v) for v in value.split("\\")] if value else None
    if vr in NUMBER_VRS:
        return [int(v) for v in value.split("\\")] if value else None
    if vr in BINARY_VRS:
        return value.encode("ascii", "replace")
    return value.split("\\") if "\\" in value else value


def _rewrite_dataset(ds: Dataset, anchor: str, run: _Run, stack: list) -> None:
    """Apply the rules to the elements of one dataset; push its sequence items."""
    recipe = run.recipe
    # pydicom's own tag objects: looking one up by itself skips a Tag() conversion and a
    # Python-level BaseTag.__eq__ per access. Our own tables are looked up by int.
    tags = list(ds.keys())
    record_type1: frozenset[int] = frozenset()
    record_type2: frozenset[int] = frozenset()
    if run.anchors and id(ds) in run.anchors:  # a DICOMDIR directory record
        kind = _text(ds.get("DirectoryRecordType", ""))
        record_type1 = dicomdir.RECORD_TYPE1.get(kind, frozenset())
        record_type2 = dicomdir.RECORD_TYPE2.get(kind, frozenset())
    creators: dict[tuple[int, int], str] | None = None
    kept_blocks: set[tuple[int, int]] = set()
    overlay_drop: set[int] = set()
    for tag in tags:
        group, elem = tag >> 16, tag & 0xFFFF
        raw = ds.get_item(tag, keep_deferred=True)  # a deferred value stays on disk
        if raw is None:
            continue
        if elem == 0 or group <= 0x0002:  # group lengths; command / meta elements in the body
            del ds[tag]
            continue
        if group & 1:
            if group <= 0x0007 or group == 0xFFFF:  # not a valid private group
                del ds[tag]
                continue
            if 0x0010 <= elem <= 0x00FF:
                continue  # creators: decided after their blocks
            if creators is None:
                creators = private_creators(ds, tags)
            block = elem >> 8
            creator = creators.get((group, block)) if elem >= 0x1000 else None
            if creator is None:
                del ds[tag]
                continue
            vr = element_vr(tag, raw)
            rule = private_rule(recipe, group, creator, elem & 0xFF, vr)
            if rule is None:
                del ds[tag]
                continue
            if rule.action != "C" and not is_safe_private_keep(rule):
                kept = _apply(ds, tag, vr, rule, anchor, run, stack)
            else:
                kept = _keep_safe_private(ds, tag, vr, anchor, run, stack)
            if kept:
                kept_blocks.add((group, block))
            continue
        vr = element_vr(tag, raw)
        rule = recipe.rule_for(int(tag), vr)
        if 0x5000 <= group <= 0x50FF:  # retired curves: never cleanable
            if rule is None or rule.action != "K" or rule.origin.layer == "safety-net":
                del ds[tag]
            continue
        if 0x6000 <= group <= 0x60FF and elem == OVERLAY_DATA:
            keep = rule is None or rule.action == "K" or (rule.action == "C" and run.scan_overlays)
            if not keep:
                overlay_drop.add(group)
            continue
        if rule is None:
            if vr == "SQ":
                _push_items(ds, tag, anchor, run, stack)
            else:
                _guard(ds, tag, vr, run)
            continue
        if vr == "PN" and rule.action != "K" and ds is not run.root:
            # a name met in a nested item is removed from every text of the dataset
            with contextlib.suppress(Exception):
                run.identifiers.add_name(ds[tag].value)
        if tag in record_type1 and rule.action in ("X", "Z", "X/Z", "Z/D", "X/Z/D", "X/D"):
            rule = Rule("D", rule.origin, rule.value)
        elif tag in record_type2 and rule.action in ("X", "X/Z", "X/D", "X/Z/D"):
            rule = Rule("Z", rule.origin, rule.value)
        _apply(ds, tag, vr, rule, anchor, run, stack)
    if creators is not None or any((t >> 16) & 1 for t in tags):
        for tag in tags:
            group, elem = tag >> 16, tag & 0xFFFF
            if (
                group & 1
                and 0x0007 < group < 0xFFFF  # the others went in the main loop
                and 0x0010 <= elem <= 0x00FF
                and (group, elem) not in kept_blocks
            ):
                del ds[tag]
    for group in overlay_drop:
        for overlay_tag in [int(t) for t in list(ds.keys()) if t >> 16 == group]:
            del ds[overlay_tag]


def _clean_pixels(dataset: Dataset, recipe: Recipe) -> PixelOutcome:
    """Run the pixel step; when it cannot even be imported (OpenCV, NumPy or the OCR
    binding missing or broken) the file is quarantined, never written uncleaned."""
    try:
        from deid.pixels import clean_pixels
    except Exception as exc:  # ImportError, or a shared library that fails to load
        missing = getattr(exc, "name", None) or _failing_module(exc)
        raise QuarantineError(
            f"Clean Pixel Data cannot run: {value_free(str(missing))[:60]} does not import"
        ) from exc
    try:
        outcome = clean_pixels(dataset, recipe.pixels)
    except QuarantineError:
        raise
    except Exception as exc:  # a pixel failure must quarantine the file, not stop the batch
        message = value_free(str(exc))[:160]
        raise QuarantineError(f"pixel cleaning failed: {type(exc).__name__}: {message}") from exc
    if outcome is not None and outcome.quarantine_reason:
        raise QuarantineError(outcome.quarantine_reason)
    return outcome


def _failing_module(exc: BaseException) -> str:
    """The module whose import raised (the innermost frame's), for a reason that names
    what is broken."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_globals.get("__name__") if tb is not None else None
    return str(name or type(exc).__name__)


def scrub_reason(reason: str, identifiers: Identifiers | None) -> str:
    """A quarantine reason without quoted values and without this dataset's identifying
    values: reasons go to the ledger and to logs, and some quote what they choked on (a
    pixel step naming an odd Photometric Interpretation, a library message)."""
    reason = value_free(reason)
    if identifiers is not None:
        with contextlib.suppress(Exception):
            cleaner = identifiers.cleaner()
            if cleaner:
                reason = cleaner.clean(reason)
    return reason or "quarantined by the engine"


#: Actions that replace or remove a (non-sequence) element whatever its VR: X (or what
#: :func:`iod.resolve` makes of it), Z, D, U, the compound codes, replace and pseudonym.
_REWRITING_ACTIONS = frozenset({"X", "Z", "D", "U", "replace", "pseudonym"}) | COMPOUND
#: VRs that Clean replaces or removes (never keeps as they are): see :func:`_clean`.
_CLEAN_REWRITES = frozenset({"AE", "UR", "PN", "AS", "UI"}) | BINARY_VRS


def _top_level_rewritten(recipe: Recipe):
    """``rewritten(tag, vr, rule)`` for :func:`gather_identifiers`: True when the walk
    certainly replaces or removes this top-level element, so reading its value need not
    convert it. Free text under C is excluded: Clean decodes it anyway (and may keep it)."""

    def rewritten(tag: int, vr: str, rule: Rule) -> bool:
        if vr == "SQ" or tag in CODED_TAGS:
            return False
        action = rule.action
        if action in _REWRITING_ACTIONS:
            return True
        if action != "C":
            return False
        if vr in ("DA", "DT"):
            return recipe.dates.mode != "keep"
        return vr in _CLEAN_REWRITES

    return rewritten


def _top_value(dataset: Dataset, tag: int, recipe: Recipe) -> Any:
    """``dataset[tag].value`` (None when absent), as ``dataset.get(keyword)`` gives it, but
    without converting an element the walk replaces anyway (:func:`peek_value`)."""
    raw = dataset.get_item(tag)
    if raw is None:
        return None
    vr = element_vr(tag, raw)
    rule = recipe.rule_for(tag, vr)
    if rule is not None and _top_level_rewritten(recipe)(tag, vr, rule):
        value = peek_value(dataset, tag, raw)
        if value is not UNSURE:
            return value
    return dataset[tag].value


def _sop_instance_uid_in(dataset: Dataset, recipe: Recipe) -> str:
    """The SOP Instance UID (a DICOMDIR, or a body without it: the header's), reading the
    body's value by :func:`_top_value`."""
    return sop_instance_uid(dataset, _top_value(dataset, SOP_INSTANCE_UID, recipe))


def deidentify(dataset: Dataset, recipe: Recipe, keys: KeyRing) -> Deidentified:
    """De-identify ``dataset`` in place by ``recipe``; see the module docstring.

    Raises :class:`QuarantineError` when the file must not be written; its reason never
    holds a value of the dataset (:func:`scrub_reason`).
    """
    try:  # before anything changes: the reasons of a quarantine are scrubbed with these
        identifiers: Identifiers | None = gather_identifiers(
            dataset, recipe, element_vr, _top_level_rewritten(recipe)
        )
    except Exception:
        identifiers = None
    try:
        return _deidentify(dataset, recipe, keys, identifiers)
    except QuarantineError as error:
        raise QuarantineError(scrub_reason(error.reason, identifiers)) from error


def _deidentify(
    dataset: Dataset, recipe: Recipe, keys: KeyRing, identifiers: Identifiers | None
) -> Deidentified:
    meta = getattr(dataset, "file_meta", None)
    try:
        result = Deidentified(
            dataset=dataset,
            patient_id_in=_text(dataset.get("PatientID", "")),
            sop_instance_uid_in=_sop_instance_uid_in(dataset, recipe),
            series_instance_uid_in=_text(_top_value(dataset, SERIES_INSTANCE_UID, recipe)),
            study_instance_uid_in=_text(_top_value(dataset, STUDY_INSTANCE_UID, recipe)),
        )
        anchor = _anchor_of(dataset)
    except QuarantineError:
        raise
    except Exception as exc:
        raise QuarantineError(f"unreadable header: {type(exc).__name__}") from exc

    result.transfer_syntax_in = str(transfer_syntax_of(dataset))
    if recipe.pixels.enabled:
        result.pixel = _clean_pixels(dataset, recipe)

    try:
        run = _Run(dataset, recipe, keys, identifiers)
        if dicomdir.is_dicomdir(dataset):
            run.anchors = dicomdir.record_anchors(dataset, anchor)
            dicomdir.scrub_header(dataset)
            for item in dataset[dicomdir.RECORD_SEQUENCE].value:
                dicomdir.scrub_record(item, run.keys.file_id)
        stack: list[tuple[Dataset, str]] = [(dataset, anchor)]
        while stack:
            ds, ds_anchor = stack.pop()
            _rewrite_dataset(ds, ds_anchor, run, stack)
        if run.pending_text or run.pending_bytes:
            cleaner = run.identifiers.cleaner()
            for ds, tag, vr, free in run.pending_text:
                if free or cleaner:
                    _clean_text(ds, tag, vr, cleaner, free)
            if cleaner:
                for ds, tag in run.pending_bytes:
                    _check_bytes(ds, tag, cleaner)
    except QuarantineError:
        raise
    except Exception as exc:
        raise QuarantineError(f"cannot rewrite dataset: {type(exc).__name__}") from exc

    _check_encapsulated(dataset, run)

    try:
        if meta is not None and "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = run.uid(meta.MediaStorageSOPInstanceUID)
        if recipe.dates.mode == "shift":
            result.date_offset_days = run.offset(anchor)
        result.patient_pseudonym = _text(dataset.get("PatientID", ""))
        result.uid_map = run.uid_map
        mark(dataset, recipe)
        if convert_big_endian(dataset):
            result.notes.append("Explicit VR Big Endian converted to Explicit VR Little Endian")
        result.transfer_syntax_out = str(output_transfer_syntax(dataset))
    except Exception as exc:
        raise QuarantineError(f"cannot finish the dataset: {type(exc).__name__}") from exc
    return result
