"""Keyed, deterministic replacements: UIDs, patient pseudonyms and date offsets.

Every replacement is an HMAC-SHA256 of the original value, so the same input maps to the
same output in every file, worker and run that use the same secret, and nobody without the
secret can map back or even test a guess. One secret feeds several purposes; each purpose
gets its own sub-key (HMAC of the secret with a fixed label) so that, say, a pseudonym can
never be compared with a UID derived from the same text.

The raw secret is not kept on the object: only the derived sub-keys and a fingerprint, so
a pickled ``KeyRing`` sent to Dask workers carries no more than it needs.
"""

from __future__ import annotations

import hashlib
import hmac

_LABELS = {
    "uid": b"deid/v1/uid",
    "patient": b"deid/v1/patient",
    "date": b"deid/v1/date",
    "fingerprint": b"deid/v1/fingerprint",
}

#: UIDs are "2.25." + a decimal 128-bit integer: at most 5 + 39 = 44 characters (limit 64).
UID_ROOT = "2.25."


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _text(value: str) -> bytes:
    """Normalise a DICOM string before hashing: padding must not change the result."""
    return str(value).strip(" \x00").encode("utf-8", "surrogateescape")


class KeyRing:
    """The secret key, split into one sub-key per purpose."""

    __slots__ = ("_date", "_fingerprint", "_patient", "_uid")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, (bytes, bytearray)):
            raise TypeError("KeyRing needs the secret as bytes")
        if not secret:
            raise ValueError("the secret key is empty")
        secret = bytes(secret)
        self._uid = _mac(secret, _LABELS["uid"])
        self._patient = _mac(secret, _LABELS["patient"])
        self._date = _mac(secret, _LABELS["date"])
        self._fingerprint = _mac(secret, _LABELS["fingerprint"]).hex()[:16]

    def __repr__(self) -> str:
        return f"KeyRing(fingerprint={self._fingerprint})"

    def __getstate__(self) -> tuple[bytes, bytes, bytes, str]:
        return (self._uid, self._patient, self._date, self._fingerprint)

    def __setstate__(self, state: tuple[bytes, bytes, bytes, str]) -> None:
        self._uid, self._patient, self._date, self._fingerprint = state

    def uid(self, original: str) -> str:
        """``2.25.<int>`` from the first 16 bytes of HMAC(k_uid, original); <= 44 characters."""
        digest = _mac(self._uid, _text(original))[:16]
        return UID_ROOT + str(int.from_bytes(digest, "big"))

    def patient_pseudonym(self, patient_id: str, prefix: str) -> str:
        """``prefix`` + 16 upper-case hex digits keyed on the original Patient ID."""
        return prefix + _mac(self._patient, _text(patient_id)).hex()[:16].upper()

    def date_offset_days(self, anchor: str, min_days: int, max_days: int) -> int:
        """A keyed offset in ``min_days..max_days`` (inclusive), the same for every file of
        one anchor (the Patient ID, or the Study Instance UID when there is none)."""
        if min_days > max_days:
            raise ValueError(f"empty date shift range {min_days}..{max_days}")
        span = max_days - min_days + 1
        value = int.from_bytes(_mac(self._date, _text(anchor))[:8], "big")
        return min_days + value % span

    def file_id(self, components: list[str]) -> list[str]:
        """Keyed stand-ins for a DICOMDIR Referenced File ID: one 8-character CS token per
        component, keyed on the path up to it, so records sharing a folder still share it
        and no input folder or file name survives."""
        out = []
        for depth in range(1, len(components) + 1):
            path = "/".join(str(c).strip() for c in components[:depth])
            out.append("F" + _mac(self._uid, b"file-id\0" + _text(path)).hex()[:7].upper())
        return out

    def fingerprint(self) -> str:
        """16 hex digits that identify the key (safe to print and store; not the key)."""
        return self._fingerprint
