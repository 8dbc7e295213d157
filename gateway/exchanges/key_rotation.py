"""Rotating the payload master key (``gateway keys rotate``): every live data key is re-wrapped
under the current master key. Payloads are not touched; shredded ones have no key left to wrap."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.exchanges.models import Payload
from gateway.exchanges.sealing import MasterKeyring, WrappedKey, payload_context


def rewrap_keys(keyring: MasterKeyring, session: Session, batch: int = 500) -> int:
    """Re-wrap the data keys not under the current master key, a batch per transaction;
    returns how many moved."""
    current = keyring.current_id
    moved = 0
    while True:
        rows = list(
            session.scalars(
                select(Payload)
                .where(Payload.wrapped_key.is_not(None), Payload.key_id != current)
                .limit(batch)
            )
        )
        if not rows:
            return moved
        for row in rows:
            assert row.key_id is not None and row.wrapped_key is not None
            wrapped = WrappedKey(row.key_id, row.wrapped_key)
            fresh = keyring.rewrap(wrapped, payload_context(row.exchange_id))
            row.key_id, row.wrapped_key = fresh.key_id, fresh.blob
        session.commit()
        moved += len(rows)
