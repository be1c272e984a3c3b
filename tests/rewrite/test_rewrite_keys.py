"""KeyRing: keyed, deterministic, separated by purpose, and safe to show."""

from __future__ import annotations

import pickle

import pytest
from pydicom.uid import UID

from deid.rewrite.keyring import KeyRing


def test_uid_is_deterministic_valid_and_keyed() -> None:
    a, b = KeyRing(b"one"), KeyRing(b"two")
    uid = a.uid("1.2.3.4")
    assert uid == KeyRing(b"one").uid("1.2.3.4")
    assert uid.startswith("2.25.") and len(uid) <= 64 and UID(uid).is_valid
    assert uid != b.uid("1.2.3.4")
    assert uid != a.uid("1.2.3.5")
    assert a.uid("1.2.3.4\x00") == uid  # padding does not change the mapping


def test_purposes_are_separated() -> None:
    keys = KeyRing(b"k")
    digits = keys.uid("12345").removeprefix("2.25.")
    pseudo = keys.patient_pseudonym("12345", "")
    assert int(pseudo, 16) != int(digits) >> 64  # different sub-keys, unrelated outputs
    assert keys.patient_pseudonym("12345", "DEID-") == "DEID-" + pseudo


def test_date_offset_in_range_and_stable() -> None:
    keys = KeyRing(b"k")
    offsets = {keys.date_offset_days(f"P{i}", -30, -10) for i in range(300)}
    assert offsets <= set(range(-30, -9)) and len(offsets) > 15
    assert keys.date_offset_days("P1", -30, -10) == KeyRing(b"k").date_offset_days("P1", -30, -10)
    assert keys.date_offset_days("P1", 5, 5) == 5
    with pytest.raises(ValueError):
        keys.date_offset_days("P1", 3, 2)


def test_fingerprint_and_repr_do_not_reveal_the_key() -> None:
    secret = b"super-secret-key-material"
    keys = KeyRing(secret)
    fp = keys.fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert fp == KeyRing(secret).fingerprint() != KeyRing(b"other").fingerprint()
    assert secret not in pickle.dumps(keys) and secret.decode() not in repr(keys)


def test_pickles_for_dask_workers() -> None:
    keys = KeyRing(b"k")
    clone = pickle.loads(pickle.dumps(keys))
    assert clone.uid("1.2.3") == keys.uid("1.2.3") and clone.fingerprint() == keys.fingerprint()


@pytest.mark.parametrize("bad", [b"", "text"])
def test_rejects_empty_or_text_secret(bad) -> None:
    with pytest.raises((ValueError, TypeError)):
        KeyRing(bad)
