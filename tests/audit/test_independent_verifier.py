"""An outsider's verifier, written from RFC 6962/9162 and the C2SP specs alone.

Nothing here imports the ``audit`` package: the proofs are checked with the top-down recursion
of RFC 6962's definitions (the production verifier uses RFC 9162's bottom-up loop), and the
checkpoint signature with ``cryptography`` directly. It must accept what the API serves and
reject it after any single-byte change.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

AUDIT = "/api/v1/audit"


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_from_path(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes | None:
    if size == 1:
        return leaf_hash if not path else None
    if not path:
        return None
    k = split(size)
    if index < k:
        left = root_from_path(index, k, leaf_hash, path[:-1])
        return None if left is None else h(b"\x01" + left + path[-1])
    right = root_from_path(index - k, size - k, leaf_hash, path[:-1])
    return None if right is None else h(b"\x01" + path[-1] + right)


def consistent(m: int, n: int, proof: list[bytes], old: bytes, new: bytes) -> bool:
    remaining = list(proof)

    def walk(m: int, n: int, complete: bool) -> tuple[bytes, bytes] | None:
        if m == n:
            if complete:
                return old, old
            if not remaining:
                return None
            node = remaining.pop()
            return node, node
        if not remaining:
            return None
        k = split(n)
        if m <= k:
            right = remaining.pop()
            inner = walk(m, k, complete)
            return None if inner is None else (inner[0], h(b"\x01" + inner[1] + right))
        left = remaining.pop()
        inner = walk(m - k, n - k, False)
        if inner is None:
            return None
        return h(b"\x01" + left + inner[0]), h(b"\x01" + left + inner[1])

    result = walk(m, n, True)
    return result == (old, new) and not remaining


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes] | None:
    """C2SP signed-note + tlog-checkpoint, from the specs: (origin, size, root) or None."""
    try:
        return _open_checkpoint(note, verifier_key)
    except (ValueError, IndexError):  # binascii.Error is a ValueError
        return None


def _open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes] | None:
    name, key_hash_hex, key_b64 = verifier_key.strip().split("+", 2)
    key = base64.b64decode(key_b64)
    if key[0] != 1 or h(name.encode() + b"\n" + key)[:4].hex() != key_hash_hex:
        return None
    text, _, signatures = note.partition("\n\n")
    if not signatures.endswith("\n"):
        return None
    for line in signatures[:-1].split("\n"):
        if not line.startswith(f"\u2014 {name} "):
            continue
        blob = base64.b64decode(line.rsplit(" ", 1)[1])
        if (
            base64.b64encode(blob).decode() != line.rsplit(" ", 1)[1]
            or blob[:4].hex() != key_hash_hex
        ):
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], (text + "\n").encode())
        except InvalidSignature:
            return None
        origin, size, root = text.split("\n")
        if base64.b64encode(base64.b64decode(root)).decode() != root:
            return None
        return origin, int(size), base64.b64decode(root)
    return None


def flip(data: str, position: int) -> str:
    raw = bytearray(data.encode())
    raw[position % len(raw)] ^= 0x01
    return raw.decode("utf-8", errors="replace")


def test_the_outsider_accepts_what_the_api_serves_and_nothing_altered(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    for n in range(3):
        client.post(
            "/api/v1/organisations",
            json={"role": "school", "name": f"School {n}", "identifier": f"8{n}AB"},
            headers=admin,
        )
    key = client.get(f"{AUDIT}/verifier-key").text
    first_note = client.get(f"{AUDIT}/checkpoint").text
    first = open_checkpoint(first_note, key)
    assert first is not None
    client.post(
        "/api/v1/organisations",
        json={"role": "swv", "name": "SWV Later", "identifier": "PO4001"},
        headers=admin,
    )
    second_note = client.get(f"{AUDIT}/checkpoint").text
    second = open_checkpoint(second_note, key)
    assert second is not None and second[1] > first[1]

    # Every entry the admin may see is in the tree the checkpoint signs.
    entries = client.get(f"{AUDIT}/entries", headers=admin).json()["items"]
    assert entries
    for item in entries:
        if item["index"] >= second[1]:
            continue
        proof = client.get(
            f"{AUDIT}/proofs/inclusion", params={"index": item["index"], "treeSize": second[1]}
        ).json()
        leaf_hash = h(b"\x00" + base64.b64decode(item["leaf"]))
        path = [base64.b64decode(x) for x in proof["hashes"]]
        assert root_from_path(item["index"], second[1], leaf_hash, path) == second[2]
        altered_leaf = h(b"\x00" + base64.b64decode(item["leaf"]) + b" ")
        assert root_from_path(item["index"], second[1], altered_leaf, path) != second[2]
        for position in range(len(path)):
            changed = list(path)
            changed[position] = bytes([changed[position][0] ^ 1]) + changed[position][1:]
            assert root_from_path(item["index"], second[1], leaf_hash, changed) != second[2]

    # The second tree extends the first.
    body = client.get(
        f"{AUDIT}/proofs/consistency", params={"first": first[1], "second": second[1]}
    ).json()
    hashes = [base64.b64decode(x) for x in body["hashes"]]
    assert consistent(first[1], second[1], hashes, first[2], second[2])
    for position in range(len(hashes)):
        changed = list(hashes)
        changed[position] = bytes([changed[position][0] ^ 1]) + changed[position][1:]
        assert not consistent(first[1], second[1], changed, first[2], second[2])

    # Any single-byte change to a signed checkpoint is refused.
    for position in range(len(second_note.encode())):
        assert open_checkpoint(flip(second_note, position), key) is None
