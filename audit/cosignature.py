"""C2SP tlog-cosignature v1 (https://c2sp.org/tlog-cosignature): a witness's Ed25519 statement
that, at a given time, a checkpoint is the largest consistent tree it has seen of that log.

A cosignature is a signed-note signature line over the checkpoint, with key id
SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4] and, after the key id, an 8-byte big-endian POSIX
timestamp and the Ed25519 signature of::

    cosignature/v1
    time <timestamp>
    <the checkpoint body>

Witness keys are written as C2SP verifier keys of type 0x04; a witness's private key as the
signed-note convention writes signer keys, ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 ‖
seed)>``. Hand-written for the reason :mod:`audit.note` is.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from audit.note import (
    SIGNATURE_PREFIX,
    NoteError,
    check_name,
    decode_vkey,
    encode_vkey,
    key_id,
    split_note,
    strict_b64decode,
)

COSIGNATURE_V1 = b"\x04"
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"


def signed_message(body: str, timestamp: int) -> bytes:
    """What a v1 cosignature signs: the header line, the time line, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Witness:
    """A witness as a log's client knows it: its name and public key (a vkey of type 0x04)."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, COSIGNATURE_V1, self.public_key)

    def encode(self) -> str:
        return encode_vkey(self.name, COSIGNATURE_V1, self.public_key)

    @classmethod
    def decode(cls, text: str) -> Witness:
        return cls(*decode_vkey(text, COSIGNATURE_V1))

    def timestamp_of(self, name: str, blob: bytes, body: str) -> int | None:
        """The time of this witness's cosignature in a note's signature line, None when the
        line is another key's; NoteError when it claims this key and does not verify."""
        if name != self.name or blob[:4] != self.key_id:
            return None
        if len(blob) != 4 + 8 + 64:
            raise NoteError(f"the cosignature of {self.name} has the wrong length")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        try:
            self.public_key.verify(blob[12:], signed_message(body, timestamp))
        except InvalidSignature as exc:
            raise NoteError(f"the cosignature of {self.name} does not verify") from exc
        return int(timestamp)


def cosigned_by(signed: str, witnesses: Sequence[Witness]) -> dict[str, int]:
    """The witnesses among ``witnesses`` whose cosignature on the note verifies (by verifier
    key) with its time. Lines by other keys are skipped; a line that claims a given witness and
    fails raises."""
    body, signatures = split_note(signed)
    found: dict[str, int] = {}
    for name, blob in signatures:
        for witness in witnesses:
            timestamp = witness.timestamp_of(name, blob, body)
            if timestamp is not None:
                found[witness.encode()] = timestamp
    return found


def signature_lines(signed: str) -> list[str]:
    """A signed note's signature lines, each ending in a newline."""
    _, separator, lines = signed.rpartition("\n\n")
    return lines.splitlines(keepends=True) if separator else []


def with_cosignatures(signed: str, lines: Sequence[str]) -> str:
    """The note with signature lines added (each a full ``— name base64`` line)."""
    present = set(signature_lines(signed))
    return signed + "".join(line for line in lines if line not in present)


@dataclass(frozen=True)
class Cosigner:
    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def witness(self) -> Witness:
        return Witness(self.name, self.private_key.public_key())

    def cosign(self, body: str, timestamp: int) -> str:
        """The cosignature line (newline included) over a checkpoint body."""
        if not 0 <= timestamp < 2**63:
            raise NoteError("a cosignature's time is a POSIX time below 2^63")
        signature = self.private_key.sign(signed_message(body, timestamp))
        blob = self.witness.key_id + struct.pack(">Q", timestamp) + signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"

    def encode(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw = base64.b64encode(COSIGNATURE_V1 + seed).decode()
        return f"{PRIVATE_KEY_PREFIX}{self.name}+{self.witness.key_id.hex()}+{raw}"

    @classmethod
    def decode(cls, text: str) -> Cosigner:
        if not text.startswith(PRIVATE_KEY_PREFIX):
            raise NoteError("not a witness signer key")
        try:
            name, hash_hex, key_b64 = text[len(PRIVATE_KEY_PREFIX) :].strip().split("+", 2)
            raw = strict_b64decode(key_b64)
            if raw[:1] != COSIGNATURE_V1 or len(raw) != 33:
                raise NoteError("not an Ed25519 cosignature key")
            cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"malformed signer key: {exc}") from exc
        if cosigner.witness.key_id.hex() != hash_hex:
            raise NoteError("the signer key's hash does not match its name and key")
        return cosigner
