"""C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures.

A note is UTF-8 text ending in a newline, then a blank line, then one line per signature:
``— <key name> <base64(key hash ‖ signature)>``. The key hash is the first four bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key); 0x01 names Ed25519. A verifier key is written
``<name>+<hex key hash>+<base64(0x01 ‖ public key)>``.

Hand-written: the format is a few lines of text and no maintained Python package implements it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash and a space


class NoteError(ValueError):
    """The note, key or signature is malformed or does not verify."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def strict_b64decode(text: str) -> bytes:
    """Base64 that has exactly one spelling: non-canonical padding bits are an error."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise binascii.Error("non-canonical base64")
    return raw


def key_id(name: str, kind: bytes, public_key: Ed25519PublicKey) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + kind + _raw_public(public_key)).digest()[:4]


def key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    return key_id(name, ED25519, public_key)


def check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def encode_vkey(name: str, kind: bytes, public_key: Ed25519PublicKey) -> str:
    """A C2SP verifier key: ``<name>+<hex key id>+<base64(kind ‖ public key)>``."""
    raw = base64.b64encode(kind + _raw_public(public_key)).decode()
    return f"{name}+{key_id(name, kind, public_key).hex()}+{raw}"


def decode_vkey(text: str, kind: bytes) -> tuple[str, Ed25519PublicKey]:
    """The name and Ed25519 key of a verifier key of signature type ``kind``."""
    try:
        name, hash_hex, key_b64 = text.strip().split("+", 2)
        raw = strict_b64decode(key_b64)
        if raw[:1] != kind or len(raw) != 33:
            raise NoteError(f"not an Ed25519 verifier key of type 0x{kind.hex()}")
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"malformed verifier key: {exc}") from exc
    check_name(name)
    if key_id(name, kind, public_key).hex() != hash_hex:
        raise NoteError("the verifier key's hash does not match its name and key")
    return name, public_key


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: Ed25519PublicKey

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key)

    def encode(self) -> str:
        return encode_vkey(self.name, ED25519, self.public_key)

    @classmethod
    def decode(cls, text: str) -> Verifier:
        return cls(*decode_vkey(text, ED25519))


@dataclass(frozen=True)
class Signer:
    """The key that signs now, and the verifier keys of those that signed before it: after a
    rotation, checkpoints signed with a retired key still verify."""

    name: str
    private_key: Ed25519PrivateKey
    retired: tuple[Verifier, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    @property
    def verifiers(self) -> tuple[Verifier, ...]:
        """Every key this log has signed with, the current one first."""
        return (self.verifier, *self.retired)

    def sign(self, text: str) -> str:
        """Return the signed note: ``text`` (which must end in a newline) and a signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("note text must end in a newline and contain no blank line")
        signature = self.private_key.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_hash + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {blob}\n"


def split_note(signed: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text (ending in a newline) and its signatures as (key name, key id ‖
    signature bytes), in order; NoteError when it is not a signed note."""
    text, separator, signatures = signed.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    lines = []
    for line in signatures[:-1].split("\n"):  # lines end in "\n" only; no other breaks
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line: {line!r}")
        name, _, blob_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            lines.append((name, strict_b64decode(blob_b64)))
        except binascii.Error as exc:
            raise NoteError("signature is not base64") from exc
    return text + "\n", lines


def open_note(signed: str, verifiers: Verifier | Sequence[Verifier]) -> str:
    """Return the note's text if a signature by one of ``verifiers`` verifies; raise NoteError
    otherwise. Signatures by other keys are skipped (a note may carry several), but a
    signature that claims a trusted key and does not verify is an error."""
    trusted = (verifiers,) if isinstance(verifiers, Verifier) else tuple(verifiers)
    if not trusted:
        raise NoteError("no verifier key to check the note with")
    text, signatures = split_note(signed)
    for name, blob in signatures:
        for verifier in trusted:
            if name != verifier.name or blob[:4] != verifier.key_hash:
                continue
            try:
                verifier.public_key.verify(blob[4:], text.encode())
            except InvalidSignature as exc:
                raise NoteError("the signature does not verify") from exc
            return text
    raise NoteError(f"no signature by {' or '.join(sorted({v.name for v in trusted}))}")
