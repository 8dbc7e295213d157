"""Envelope encryption of payloads at rest, and the key destruction that shreds them.

Each exchange's payload is encrypted with its own random 256-bit data key (AES-256-GCM); the
data key is stored only *wrapped* by a master key (AES-256-GCM again), next to the master key's
id. Destroying the wrapped data key makes the ciphertext unrecoverable even to someone holding
every master key: that is crypto-shredding (docs/adr/0005-crypto-shredding.md). Rotating a master
key re-wraps the small data keys and never touches the payloads.

Hand-written on purpose: ``cryptography``'s AESGCM is the primitive, and the envelope around it
is a few lines whose associated data binds every blob to its exchange, so a ciphertext or a
wrapped key copied onto another exchange's row does not decrypt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class SealingError(ValueError):
    """A blob does not open: wrong key, unknown key id, or tampered bytes."""


@dataclass(frozen=True)
class WrappedKey:
    key_id: str
    blob: bytes  # nonce ‖ AES-GCM(master key, data key)


@dataclass(frozen=True)
class Sealed:
    wrapped_key: WrappedKey
    ciphertext: bytes  # nonce ‖ AES-GCM(data key, plaintext)


@dataclass(frozen=True)
class MasterKeyring:
    """Master keys by id; the first is current (wraps), the others only unwrap."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one master key")
        for key_id, key in self.keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"master key {key_id} must be {KEY_BYTES} bytes")
        if len({key_id for key_id, _ in self.keys}) != len(self.keys):
            raise ValueError("master key ids must be unique")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for known, key in self.keys:
            if known == key_id:
                return key
        raise SealingError(f"no master key with id {key_id}")

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        key_id = self.current_id
        return WrappedKey(key_id, _encrypt(self.key(key_id), data_key, _wrap_aad(context, key_id)))

    def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        aad = _wrap_aad(context, wrapped.key_id)
        return _decrypt(self.key(wrapped.key_id), wrapped.blob, aad)

    def rewrap(self, wrapped: WrappedKey, context: bytes) -> WrappedKey:
        """The same data key under the current master key."""
        return self.wrap(self.unwrap(wrapped, context), context)


def payload_context(exchange_id: str) -> bytes:
    """Associated data that binds a sealed payload and its wrapped key to one exchange."""
    return f"kindkoppeling:payload:{exchange_id}".encode()


def seal(keyring: MasterKeyring, plaintext: bytes, context: bytes) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    return Sealed(keyring.wrap(data_key, context), _encrypt(data_key, plaintext, context))


def unseal(keyring: MasterKeyring, sealed: Sealed, context: bytes) -> bytes:
    data_key = keyring.unwrap(sealed.wrapped_key, context)
    return _decrypt(data_key, sealed.ciphertext, context)


def seal_beside(
    keyring: MasterKeyring, wrapped: WrappedKey, plaintext: bytes, context: bytes, part: bytes
) -> bytes:
    """More bytes under the data key of an existing envelope (``part`` names them in the
    associated data): destroying that envelope's wrapped key shreds them with it."""
    return _encrypt(keyring.unwrap(wrapped, context), plaintext, context + b"\0" + part)


def unseal_beside(
    keyring: MasterKeyring, wrapped: WrappedKey, blob: bytes, context: bytes, part: bytes
) -> bytes:
    return _decrypt(keyring.unwrap(wrapped, context), blob, context + b"\0" + part)


def _wrap_aad(context: bytes, key_id: str) -> bytes:
    return b"data-key\0" + context + b"\0" + key_id.encode()


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise SealingError("the blob does not open with this key") from exc
