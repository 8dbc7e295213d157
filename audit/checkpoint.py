"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed head of the log.

Body: the origin line, the tree size in decimal, the root hash in base64, each ending in a
newline; signed as a C2SP signed-note (:mod:`audit.note`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from audit.merkle import HASH_SIZE
from audit.note import NoteError, Signer, Verifier, open_note, strict_b64decode


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"

    def sign(self, signer: Signer) -> str:
        return signer.sign(self.body())

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root_b64 = lines[0], lines[1], lines[2]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("malformed checkpoint origin or size")
        try:
            root_hash = strict_b64decode(root_b64)
        except binascii.Error as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(root_hash) != HASH_SIZE:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(origin, int(size), root_hash)

    @classmethod
    def verify(
        cls, signed: str, verifiers: Verifier | Sequence[Verifier], origin: str | None = None
    ) -> Checkpoint:
        checkpoint = cls.parse_body(open_note(signed, verifiers))
        if origin is not None and checkpoint.origin != origin:
            raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
        return checkpoint
