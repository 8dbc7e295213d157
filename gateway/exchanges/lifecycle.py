"""The states of an exchange and the only transitions between them.

::

    awaiting_consent ─► awaiting_delivery ─► delivered ─► fetched
          │                   │                  │           │
          └──► denied, withdrawn, revoked, expired ◄─────────┘ (fetched: expired only)

``denied``, ``expired``, ``revoked`` and ``withdrawn`` are final. A fetched exchange stays
fetched when consent is later revoked (history is not rewritten); its stored copy is shredded.
"""

from __future__ import annotations

from gateway.errors import ConflictError
from gateway.exchanges.models import ExchangeStatus as S

_ENDINGS = {S.DENIED, S.WITHDRAWN, S.REVOKED, S.EXPIRED}

TRANSITIONS: dict[S, frozenset[S]] = {
    S.AWAITING_CONSENT: frozenset({S.AWAITING_DELIVERY, *_ENDINGS}),
    S.AWAITING_DELIVERY: frozenset({S.DELIVERED, *_ENDINGS}),
    S.DELIVERED: frozenset({S.FETCHED, S.WITHDRAWN, S.REVOKED, S.EXPIRED}),
    S.FETCHED: frozenset({S.EXPIRED}),
    S.DENIED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REVOKED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

FINAL = frozenset(state for state, onward in TRANSITIONS.items() if not onward)
# States in which the exchange still holds, or may still come to hold, a payload.
OPEN = frozenset(TRANSITIONS) - FINAL


def check_transition(current: S, target: S) -> None:
    if target not in TRANSITIONS[current]:
        raise ConflictError(
            f"An exchange that is {current.value} cannot become {target.value}.",
            exchange_status=current.value,
        )
