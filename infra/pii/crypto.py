"""The cryptography of personal data: a master key, subject ids, data keys, sealed fields.

Each person (a *subject*, named by an HMAC of their normalised e-mail under the
master key, never by the e-mail itself) has a random AES-256 data key. The data key
is stored wrapped (AES-GCM under the master key); a personal field of an event is
sealed with AES-GCM under the data key, its associated data binding the sealed
bytes to the key and to the field's name, so a sealed value cannot be moved to
another field or person.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.erasure import ERASED as ERASED

KEY_BYTES = 32
NONCE_BYTES = 12


class WrongMasterKey(RuntimeError):
    """The data keys in the database were wrapped by another master key.

    Never read as an erasure: a wrong key must stop the process, not hide data.
    """


class MasterKeyInvalid(ValueError):
    """PII_MASTER_KEY is not 32 bytes in base64 (or hex)."""


def parse_master_key(text: str) -> bytes:
    """32 bytes from base64 (url-safe or standard) or 64 hex digits."""
    text = text.strip()
    candidates: list[bytes] = []
    with contextlib.suppress(ValueError):
        candidates.append(bytes.fromhex(text))
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        with contextlib.suppress(ValueError):
            candidates.append(decode(text + "=" * (-len(text) % 4)))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise MasterKeyInvalid("PII_MASTER_KEY must be 32 random bytes, base64 or hex encoded.")


def new_master_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def normalise_email(email: str) -> str:
    return email.strip().casefold()


@dataclass(frozen=True)
class MasterKey:
    """Wraps data keys and names subjects; never leaves the process."""

    key: bytes = field(repr=False)

    def subject_of_email(self, email: str) -> str:
        return self._subject("email:" + normalise_email(email))

    def subject_of_aggregate(self, aggregate_id: str) -> str:
        """The subject of personal data written before its owner's e-mail was known."""
        return "a_" + self._subject("aggregate:" + aggregate_id)[2:]

    def _subject(self, name: str) -> str:
        mac_key = hmac.new(self.key, b"orderledger subject id", hashlib.sha256).digest()
        return "s_" + hmac.new(mac_key, name.encode(), hashlib.sha256).hexdigest()[:40]

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, key_id.encode())

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return AESGCM(self.key).decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise WrongMasterKey(
                "PII_MASTER_KEY does not open the data keys stored in this database "
                "(is it the key they were made with?)"
            ) from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(data_key: bytes, key_id: str, field_name: str, plain: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, plain, f"{key_id}/{field_name}".encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(data_key: bytes, key_id: str, field_name: str, text: str) -> bytes:
    raw = base64.b64decode(text)
    return AESGCM(data_key).decrypt(
        raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{key_id}/{field_name}".encode()
    )
