"""Signed checkpoints: C2SP signed-note with Ed25519, checked byte by byte."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.checkpoint import Checkpoint
from audit.note import NoteError, Signer, Verifier

ORIGIN = "gateway.example/audit"


@pytest.fixture
def signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


def test_verifier_key_is_written_as_the_spec_says(signer: Signer) -> None:
    raw = signer.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    expected_hash = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]

    name, key_hash, key = signer.verifier.encode().split("+", 2)

    assert name == ORIGIN
    assert key_hash == expected_hash.hex()
    assert base64.b64decode(key) == b"\x01" + raw
    assert Verifier.decode(signer.verifier.encode()).key_hash == expected_hash


def test_checkpoint_is_the_origin_size_and_root_then_a_signature(signer: Signer) -> None:
    root = bytes(range(32))
    note = Checkpoint(ORIGIN, 42, root).sign(signer)
    body, signature_line = note.split("\n\n")

    assert body == f"{ORIGIN}\n42\n{base64.b64encode(root).decode()}"
    assert signature_line.startswith(f"\u2014 {ORIGIN} ")
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert blob[:4] == signer.verifier.key_hash
    signer.private_key.public_key().verify(blob[4:], (body + "\n").encode())
    assert Checkpoint.verify(note, signer.verifier, ORIGIN) == Checkpoint(ORIGIN, 42, root)


def test_every_single_byte_change_is_rejected(signer: Signer) -> None:
    note = Checkpoint(ORIGIN, 7, bytes(32)).sign(signer).encode()
    rejected = 0
    for position in range(len(note)):
        changed = bytearray(note)
        changed[position] ^= 0x01
        try:
            Checkpoint.verify(changed.decode("utf-8"), signer.verifier, ORIGIN)
        except (NoteError, UnicodeDecodeError):
            rejected += 1
    assert rejected == len(note)


def test_another_key_is_rejected(signer: Signer) -> None:
    note = Checkpoint(ORIGIN, 7, bytes(32)).sign(signer)
    impostor = Signer(ORIGIN, Ed25519PrivateKey.generate())

    with pytest.raises(NoteError):
        Checkpoint.verify(note, impostor.verifier)


@pytest.mark.parametrize("key", ["", "name+00000000+AAAA", "bad name+0+AQ==", "x+zz+" + "A" * 44])
def test_malformed_verifier_keys_are_rejected(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.decode(key)
