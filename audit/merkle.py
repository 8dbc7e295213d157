"""Merkle Hash Trees per RFC 6962 §2.1 (as clarified in RFC 9162 §2.1): pure functions.

Leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right). Proof generation is
written over a ``subtree(start, end)`` callable that returns the hash of leaves [start, end),
so the same code serves an in-memory list and the stored subtree hashes of ``audit.store``
(which answers perfect subtrees with one read each). Verification follows RFC 9162 §2.1.3.2
(inclusion) and §2.1.4.2 (consistency).

Hand-written because no maintained Python library implements RFC 6962 proofs over an external
node store; the known-answer tests use the Certificate Transparency vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose [start, end) into the perfect subtrees RFC 6962's recursion visits, as
    (level, index) pairs; ``start`` must be aligned the way the recursion aligns it."""
    parts = []
    while start < end:
        n = end - start
        size = 1 << (n.bit_length() - 1) if n & (n - 1) else n
        parts.append(((size.bit_length() - 1), start // size))
        start += size
    return parts


def from_perfect(perfect: Callable[[int, int], bytes]) -> SubtreeHash:
    """MTH(D[start:end]) for the ranges RFC 6962's recursion visits, from the hashes of perfect
    subtrees, ``perfect(level, index)``: a stored tree or one computed from tiles."""

    def subtree(start: int, end: int) -> bytes:
        parts = [perfect(level, index) for level, index in perfect_subtrees(start, end)]
        result = parts[-1]
        for part in reversed(parts[:-1]):
            result = node_hash(part, result)
        return result

    return subtree


def subtree_from_list(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    def subtree(start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return leaf_hashes[start]
        k = split_point(n)
        return node_hash(subtree(start, start + k), subtree(start + k, end))

    return subtree


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]); the empty tree's root is SHA-256 of the empty string."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return subtree_from_list(leaf_hashes)(0, len(leaf_hashes))


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1, leaf-to-root order."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    proof: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    # SUBPROOF(m, D[start:end], complete), unrolled.
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree(start, end))
            break
        k = split_point(n)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``leaf`` (a leaf hash) sit at ``index`` under ``expected_root``?"""
    if not 0 <= index < size or any(len(h) != HASH_SIZE for h in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int,
    second: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size ``second`` an append-only extension of ``first``?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof or any(len(h) != HASH_SIZE for h in proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root starts the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
