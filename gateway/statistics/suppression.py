"""Primary and complementary cell suppression for a table with additive margins.

Written here because no maintained Python library does it (sdcTable is R, tau-Argus is Java),
and the rule the gateway needs is small:

- **primary**: every cell below the threshold (5) is suppressed, zeros included;
- **complementary**: in every additive group (a total and the parts it is the sum of), a
  suppressed non-zero cell must not be the only one, or it would be the total minus the rest.
  While some group has exactly one suppressed non-zero member, the smallest published
  non-zero member of that group is suppressed as well. Suppressed zeros do not count as cover:
  an attacker who knows a cell is empty (a region with no schools of that kind) learns nothing
  from its being hidden.

Suppression is computed over the whole table at once, and every answer is a subset of that one
table, so no two queries can be subtracted to reveal a hidden cell.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

THRESHOLD = 5

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Group(Generic[K]):
    """``total`` is the sum of ``parts``."""

    total: K
    parts: Sequence[K]


def suppress(
    cells: Mapping[K, int], groups: Sequence[Group[K]], threshold: int = THRESHOLD
) -> set[K]:
    """The keys of the cells to hide."""
    hidden = {key for key, count in cells.items() if count < threshold}
    changed = True
    while changed:
        changed = False
        for group in groups:
            members = [group.total, *group.parts]
            exposed = [k for k in members if k in hidden and cells[k] > 0]
            if len(exposed) != 1:
                continue
            candidates = [k for k in members if k not in hidden and cells[k] > 0]
            if candidates:
                # The smallest count loses least; a part before the total; then a stable order.
                hidden.add(min(candidates, key=lambda k: (cells[k], k == group.total, repr(k))))
                changed = True
    return hidden
