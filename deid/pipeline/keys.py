"""Find the run's secret key: a key file, an environment variable, or the ledger's own key.

The key decides every new UID, pseudonym and date shift, so two runs over parts of one
study must share it; losing it means the mapping can never be extended. Hence: an explicit
key file wins, then ``DEID_KEY``, then the ``key`` file in the ledger folder; when none
exists a random key is created there (owner-only) and the run says so. A recipe may pin
the source (``key_source`` ``env:NAME`` or ``file:PATH``); the run then refuses any other.
The key itself is never printed or stored anywhere else (run.json holds its fingerprint).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from deid.atomic import write_bytes
from deid.errors import KeyMissingError, UserError

ENV_VAR = "DEID_KEY"
LEDGER_KEY_NAME = "key"
_HEX = re.compile(r"[0-9a-fA-F]+")
#: 128 bits: the least a key may carry by construction (16 random bytes, 32 hex digits).
MIN_KEY_BYTES = 16
MIN_HEX_DIGITS = 2 * MIN_KEY_BYTES
#: A text (passphrase) key: as many characters as hex digits, and not a handful of them
#: repeated, so that "x" * 40 is refused like "x".
MIN_TEXT_CHARS = MIN_HEX_DIGITS
MIN_DISTINCT_CHARS = 8
#: Text that is mostly hex digits is a hex key with a typo, never a passphrase.
NEAR_HEX_SHARE = 0.9
GENERATE_HINT = "make one with: openssl rand -hex 32"


class WeakKeyError(UserError):
    """A key with less than 128 bits by construction, or a hex key with a typo (exit 2)."""


@dataclass(frozen=True)
class ResolvedKey:
    secret: bytes
    #: Where it came from, for run.json and the console: "file:PATH", "env:NAME", "ledger".
    source: str
    created: bool = False


def decode_key_text(text: str, where: str) -> bytes:
    """The key bytes of a key's text form; :class:`WeakKeyError` for a key too weak to use.

    Trailing whitespace is ignored. An even number of hex digits (at least 32) is the bytes
    they spell. Anything else made (almost) only of hex digits is refused: 63 digits used
    to become a different, UTF-8 key without a word. Other text is a passphrase, used as its
    UTF-8 bytes, and must have at least 32 characters, not just a few of them repeated.
    """
    text = text.rstrip()
    if not text:
        raise KeyMissingError(f"key in {where} is empty")
    digits = text[2:] if text[:2].lower() == "0x" else text
    if _HEX.fullmatch(digits):
        if len(digits) % 2 or len(digits) < MIN_HEX_DIGITS:
            raise WeakKeyError(
                f"key in {where} looks like hex but has {len(digits)} digit(s); a hex key "
                f"needs an even number of digits, at least {MIN_HEX_DIGITS} ({GENERATE_HINT})"
            )
        return bytes.fromhex(digits)
    hex_share = sum(c in "0123456789abcdefABCDEF" for c in text) / len(text)
    if len(text) >= MIN_HEX_DIGITS and hex_share >= NEAR_HEX_SHARE:
        raise WeakKeyError(
            f"key in {where} is almost a hex key but holds other characters; "
            f"check it for a typo ({GENERATE_HINT})"
        )
    if len(text) < MIN_TEXT_CHARS or len(set(text)) < MIN_DISTINCT_CHARS:
        raise WeakKeyError(
            f"key in {where} is too weak: fewer than {MIN_KEY_BYTES} random bytes by "
            f"construction (a text key needs at least {MIN_TEXT_CHARS} characters, "
            f"{MIN_DISTINCT_CHARS} of them different; {GENERATE_HINT})"
        )
    return text.encode("utf-8")


def read_key_file(path) -> bytes:
    """The key in a file, or in an object (``--key-file s3://...``, a ledger's ``key``)."""
    from deid.storage.remote import location

    try:
        raw = location(path, "key file").read_bytes()
    except OSError as error:
        why = error.strerror or " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, FileNotFoundError):
            why = "No such file or directory"
        elif isinstance(error, PermissionError):
            why = "Permission denied"
        raise KeyMissingError(f"cannot read key file {path}: {why}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"key file {path} is not UTF-8 text") from None
    return decode_key_text(text, f"key file {path}")


def _from_env(name: str) -> bytes | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return decode_key_text(value, f"environment variable {name}")


def ledger_key_path(ledger: Path) -> Path:
    return ledger / LEDGER_KEY_NAME


def resolve_key(
    ledger: Path,
    key_file: str | None = None,
    key_source: str = "ledger",
    create: bool = True,
) -> ResolvedKey:
    """The key for a run writing ``ledger``; creates the ledger key only when ``create``."""
    kind, _, detail = (key_source or "ledger").partition(":")
    if kind == "env":
        name = detail or ENV_VAR
        if key_file:
            raise UserError(f"the recipe takes the key from ${name}; drop --key-file")
        secret = _from_env(name)
        if secret is None:
            raise KeyMissingError(f"the recipe takes the key from ${name}, which is not set")
        return ResolvedKey(secret, f"env:{name}")
    if kind == "file":
        if key_file and os.path.realpath(key_file) != os.path.realpath(detail):
            raise UserError(f"the recipe takes the key from {detail}; drop --key-file")
        return ResolvedKey(read_key_file(detail), f"file:{detail}")
    if key_file:
        return ResolvedKey(read_key_file(key_file), f"file:{key_file}")
    secret = _from_env(ENV_VAR)
    if secret is not None:
        return ResolvedKey(secret, f"env:{ENV_VAR}")
    path = ledger_key_path(ledger)
    if path.exists():
        return ResolvedKey(read_key_file(path), "ledger")
    if not create:
        raise KeyMissingError(f"no key: give --key-file, set ${ENV_VAR}, or keep {path}")
    secret = secrets.token_bytes(32)
    from deid.storage.remote import RemotePath

    if isinstance(ledger, RemotePath):
        return _create_remote_key(path, secret)
    ledger.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole under a temp name, then linked: a run killed here leaves no empty key,
    # and of two runs racing to create it, the second reads the first one's key.
    try:
        write_bytes(path, (secret.hex() + "\n").encode(), 0o600, exclusive=True, suffix=".tmp")
    except FileExistsError:
        return ResolvedKey(read_key_file(path), "ledger")
    return ResolvedKey(secret, "ledger", created=True)


def _create_remote_key(path, secret: bytes) -> ResolvedKey:
    """The new key as one object, created only if none is there (a conditional PUT): of
    two runs racing to create it, the second reads the first one's key."""
    from deid.storage.objects import write_unique

    if not write_unique(path, (secret.hex() + "\n").encode()):
        return ResolvedKey(read_key_file(path), "ledger")
    return ResolvedKey(secret, "ledger", created=True)
