"""Verify a whole log: every leaf, every checkpoint's signature and root, in one pass.

Works on any stream of ``(index, leaf bytes, stored leaf hash or None)`` in index order, so the
same code checks the live database (``gateway audit verify``) and an export on disk
(``python -m audit verify DIR``). Roots are rebuilt incrementally with a stack of perfect
subtrees (O(log n) memory); every signed checkpoint must match the root rebuilt at its size,
which also proves each checkpoint consistent with every earlier one. The first bad index is named.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.cosignature import Witness, cosigned_by
from audit.note import NoteError, Verifier


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    root_hash: bytes = merkle.EMPTY_ROOT
    faults: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return not self.faults

    def fault(self, message: str, index: int | None = None, *, exact: bool = True) -> None:
        """Record a fault; an exact index wins over the start of a range (``exact=False``)."""
        self.faults.append(message)
        if index is None:
            return
        if self.first_bad_index is None or (exact and index < self.first_bad_index):
            self.first_bad_index = index


# Leaves are checked in aligned chunks of this many (a power of two): a full chunk is one
# perfect subtree, hashed level by level in list comprehensions, which keeps the per-leaf
# Python work small next to the SHA-256 itself (benchmarks/audit_verify.py).
CHUNK = 1 << 14

Row = tuple[int, bytes, bytes | None]


class _Frontier:
    """The perfect subtrees of the leaves so far, largest first (a binary counter)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (size, hash)
        self.size = 0

    def push(self, hashed: bytes, size: int = 1) -> None:
        """Add a perfect subtree of ``size`` leaves; it must start at a multiple of ``size``."""
        current, grown = hashed, size
        while self.stack and self.stack[-1][0] == grown:
            left_size, left = self.stack.pop()
            current = merkle.node_hash(left, current)
            grown += left_size
        self.stack.append((grown, current))
        self.size += size

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = merkle.node_hash(left, result)
        return result


def _perfect_root(hashes: list[bytes]) -> bytes:
    """The root over a power-of-two number of leaf hashes (RFC 6962 §2.1, balanced case)."""
    level = hashes
    while len(level) > 1:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]


def verify_log(
    leaves: Iterable[Row],
    signed_checkpoints: Iterable[str],
    verifiers: Verifier | Sequence[Verifier],
    origin: str | None = None,
) -> Report:
    """``verifiers``: the keys to trust, current and retired; a checkpoint signed by any of them
    counts."""
    report = Report()
    wanted: dict[int, list[Checkpoint]] = {}
    for note in signed_checkpoints:
        try:
            checkpoint = Checkpoint.verify(note, verifiers, origin)
        except NoteError as exc:
            report.fault(f"checkpoint rejected: {exc}")
            continue
        wanted.setdefault(checkpoint.tree_size, []).append(checkpoint)
        report.checkpoints += 1

    frontier = _Frontier()
    last_good = [0]  # size of the last checkpoint that matched: the bad range starts there
    _check_checkpoints_at(0, frontier, wanted, report, last_good)
    signed_sizes = sorted(wanted)
    rows = iter(leaves)
    while chunk := list(islice(rows, CHUNK)):
        if not _verify_chunk(chunk, frontier, wanted, signed_sizes, report, last_good):
            break
    report.entries = frontier.size
    report.root_hash = frontier.root()
    for size in sorted(s for s in wanted if s > frontier.size):
        # Entries from the end of the log on are missing: the first of them is the bad index.
        report.fault(
            f"a checkpoint covers {size} entries but the log has {frontier.size}", frontier.size
        )
    return report


def _verify_chunk(
    chunk: list[Row],
    frontier: _Frontier,
    wanted: dict[int, list[Checkpoint]],
    signed_sizes: list[int],
    report: Report,
    last_good: list[int],
) -> bool:
    """Check one chunk and add it to the tree; False when an entry is missing, which ends the
    verification after the entries before it."""
    start = frontier.size
    indices = [row[0] for row in chunk]
    complete = indices == list(range(start, start + len(chunk)))
    if not complete:
        gap = next(i for i, index in enumerate(indices) if index != start + i)
        report.fault(f"entry {start + gap} is missing (found {indices[gap]})", start + gap)
        chunk = chunk[:gap]
        if not chunk:
            return False
    end = start + len(chunk)
    leaves = [row[1] for row in chunk]
    stored = [row[2] for row in chunk]
    hashes = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]  # merkle.leaf_hash
    if stored != hashes:
        for index, hashed, recorded in zip(range(start, end), hashes, stored, strict=True):
            if recorded is not None and recorded != hashed:
                report.fault(f"entry {index}: leaf bytes do not match the stored leaf hash", index)
    tokens = [b'"index":%d,' % index for index in range(start, end)]
    if not all(map(bytes.__contains__, leaves, tokens)):
        # Localises a moved leaf; the checkpoints are what prove order, so this cheap byte
        # check (no JSON parse) is enough here.
        for index, leaf, token in zip(range(start, end), leaves, tokens, strict=True):
            if token not in leaf:
                report.fault(f"entry {index}: its leaf names another index", index)
    signed_inside = bisect_left(signed_sizes, end) > bisect_right(signed_sizes, start)
    if len(hashes) == CHUNK and not signed_inside:
        frontier.push(_perfect_root(hashes), CHUNK)
        _check_checkpoints_at(end, frontier, wanted, report, last_good)
    else:  # a partial chunk, or signed checkpoints inside it: leaf by leaf
        for hashed in hashes:
            frontier.push(hashed)
            _check_checkpoints_at(frontier.size, frontier, wanted, report, last_good)
    return complete


def _check_checkpoints_at(
    size: int,
    frontier: _Frontier,
    wanted: dict[int, list[Checkpoint]],
    report: Report,
    last_good: list[int],
) -> None:
    for checkpoint in wanted.get(size, []):
        if checkpoint.root_hash == frontier.root():
            last_good[0] = size
            continue
        # The leaves and their recorded hashes agree, yet the signed root does not: both were
        # rewritten. The first bad entry lies after the last checkpoint that still matched.
        report.fault(
            f"checkpoint at size {size} does not match the entries: an entry in "
            f"[{last_good[0]}, {size}) was changed, dropped or reordered",
            last_good[0],
            exact=False,
        )


def verify_entries(
    entries: Iterable[tuple[int, bytes | None, bytes | None, Sequence[bytes]]],
    signed_checkpoint: str,
    verifiers: Verifier | Sequence[Verifier],
    origin: str | None = None,
) -> Report:
    """Verify a partial export: each entry's leaf hash and its inclusion proof in the one signed
    checkpoint. It proves these entries are in the log that checkpoint commits to; it cannot
    prove that no other entry exists. ``report.entries`` counts the entries checked. An entry
    known by its leaf hash alone (leaf bytes None: a receipt) is checked by its proof only."""
    report = Report()
    try:
        checkpoint = Checkpoint.verify(signed_checkpoint, verifiers, origin)
    except NoteError as exc:
        report.fault(f"checkpoint rejected: {exc}")
        return report
    report.checkpoints = 1
    report.root_hash = checkpoint.root_hash
    for index, leaf, recorded, proof in entries:
        report.entries += 1
        hashed = recorded if leaf is None else merkle.leaf_hash(leaf)
        if hashed is None or (recorded is not None and recorded != hashed):
            report.fault(f"entry {index}: leaf bytes do not match the stored leaf hash", index)
        elif leaf is not None and b'"index":%d,' % index not in leaf:
            report.fault(f"entry {index}: its leaf names another index", index)
        elif not merkle.verify_inclusion(
            index, checkpoint.tree_size, hashed, proof, checkpoint.root_hash
        ):
            report.fault(
                f"entry {index}: not in the checkpoint of size {checkpoint.tree_size} "
                "(its inclusion proof fails)",
                index,
            )
    return report


def verify_receipt(
    index: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    signed_checkpoint: str,
    verifiers: Verifier | Sequence[Verifier],
) -> Report:
    """Verify one entry known by its leaf hash alone (a delivery's or fetch's receipt, with the
    inclusion proof the log served): it is at ``index`` in the log the signed checkpoint
    commits to."""
    return verify_entries([(index, None, leaf_hash, proof)], signed_checkpoint, verifiers)


def quorum_fault(signed_checkpoint: str, witnesses: Sequence[Witness], quorum: int) -> str | None:
    """None when at least ``quorum`` of ``witnesses`` validly cosigned the checkpoint; otherwise
    why not."""
    try:
        found = cosigned_by(signed_checkpoint, witnesses)
    except NoteError as exc:
        return f"cosignature rejected: {exc}"
    if len(found) < quorum:
        return f"{len(found)} of the {quorum} cosignatures required verify"
    return None
