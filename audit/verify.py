"""Verify a whole log: every leaf, every checkpoint's signature and root, in one pass.

Works on any stream of ``(index, leaf bytes, stored leaf hash or None)`` in index order, so the
same code checks the live database (``gateway audit verify``) and an export on disk
(``python -m audit verify DIR``). Roots are rebuilt incrementally with a stack of perfect
subtrees (O(log n) memory); every signed checkpoint must match the root rebuilt at its size,
which also proves each checkpoint consistent with every earlier one. The first bad index is named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from audit import merkle
from audit.checkpoint import Checkpoint
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


class _Frontier:
    """The perfect subtrees of the leaves so far, largest first (a binary counter)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (size, hash)
        self.size = 0

    def push(self, hashed: bytes) -> None:
        size, current = 1, hashed
        while self.stack and self.stack[-1][0] == size:
            left_size, left = self.stack.pop()
            current = merkle.node_hash(left, current)
            size += left_size
        self.stack.append((size, current))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = merkle.node_hash(left, result)
        return result


def verify_log(
    leaves: Iterable[tuple[int, bytes, bytes | None]],
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
    for expected_index, (index, leaf, stored_hash) in enumerate(leaves):
        if index != expected_index:
            report.fault(f"entry {expected_index} is missing (found {index})", expected_index)
            break
        hashed = merkle.leaf_hash(leaf)
        if stored_hash is not None and hashed != stored_hash:
            report.fault(f"entry {index}: leaf bytes do not match the stored leaf hash", index)
        if b'"index":%d,' % index not in leaf:
            # Localises a moved leaf; the checkpoints are what prove order, so this cheap
            # byte check (no JSON parse) is enough here.
            report.fault(f"entry {index}: its leaf names another index", index)
        frontier.push(hashed)
        _check_checkpoints_at(frontier.size, frontier, wanted, report, last_good)
    report.entries = frontier.size
    report.root_hash = frontier.root()
    for size in sorted(s for s in wanted if s > frontier.size):
        # Entries from the end of the log on are missing: the first of them is the bad index.
        report.fault(
            f"a checkpoint covers {size} entries but the log has {frontier.size}", frontier.size
        )
    return report


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
