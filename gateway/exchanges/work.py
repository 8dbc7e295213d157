"""What every exchange use case shares: the policy, the master keys, the payload schemas and
the clock.

The use cases are modules of plain functions named for what a party does (:mod:`creating`,
:mod:`delivering`, :mod:`ending`, :mod:`consent_answers`, :mod:`reading`, :mod:`expiry`), each
taking this object first, as cosmicpython's handlers take their unit of work. The transaction
is the caller's SQLAlchemy session: each step adds its change and its audit entries to it, and
a use case that ends a request commits, so a step and its entry commit together or not at all.

Every step asks the policy again with the facts of that moment (:mod:`deciding`), keeps the
decision on the exchange and writes its audit entry (:mod:`recording`). Payloads are sealed
(:mod:`sealing`) before they reach a session, and every ending destroys the payload's data key.
Callers are identified by their organisation; an exchange the caller is not a party to does not
exist for it (404), whatever id it tries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.db import utcnow
from gateway.exchanges.payload_schemas import PayloadSchemas
from gateway.exchanges.sealing import MasterKeyring
from gateway.policy.service import PolicyDecider


@dataclass
class Exchanges:
    """The collaborators of the exchange use cases (``app.state.exchanges``)."""

    decider: PolicyDecider
    keyring: MasterKeyring
    schemas: PayloadSchemas
    clock: Callable[[], datetime] = field(default=utcnow)

    def purpose(self, name: str) -> dict[str, Any]:
        """The purpose's entry in the policy data; empty for a purpose the policy lacks."""
        return self.decider.bundle.purpose(name) or {}
