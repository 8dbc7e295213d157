"""Claiming rows of an outbox by lease: what the webhook and the e-mail workers share.

An outbox row has ``id``, ``status``, ``next_attempt_at`` and ``claimed_until``. A worker claims
a due row with a conditional UPDATE that only succeeds while no other lease runs: on PostgreSQL
the row lock makes a second worker's UPDATE wait and then find the lease taken, on SQLite the
write lock does. So several workers, in several processes or replicas, never work on one row
at the same time; a worker that dies lets its lease run out and the row comes due again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from gateway.background import to_completion

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50


def claim_due(
    session: Session,
    model: Any,
    pending: Any,
    now: datetime,
    *where: ColumnElement[bool],
    join: Any = None,
) -> list[str]:
    """Lease up to BATCH due rows of ``model`` (status ``pending``) and commit; their ids."""
    unclaimed = or_(model.claimed_until.is_(None), model.claimed_until < now)
    query = select(model.id)
    if join is not None:
        query = query.join(join)
    due = session.scalars(
        query.where(model.status == pending, model.next_attempt_at <= now, unclaimed, *where)
        .order_by(model.next_attempt_at)
        .limit(BATCH)
    ).all()
    claimed = []
    for row_id in due:
        taken = session.execute(
            update(model)
            .where(model.id == row_id, model.status == pending, unclaimed)
            .values(claimed_until=now + LEASE)
        )
        if getattr(taken, "rowcount", 0) == 1:
            claimed.append(str(row_id))
    session.commit()
    return claimed


async def run_periodically(work: Callable[[], int], interval: float) -> None:
    """Run an outbox worker's round every ``interval`` seconds until cancelled; a failed round
    (the database away) is logged and tried again."""
    while True:
        try:
            await to_completion(work)
        except Exception as exc:
            log.error("outbox_round_failed", error=type(exc).__name__, exc_info=exc)
        await asyncio.sleep(interval)
