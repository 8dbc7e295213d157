"""Keeping a decision: its bundle (once), its input and answer, linked to its audit entry.

:func:`record_decision` records the decision's audit entry, carrying ``input_hash`` and
``decision_hash``, and keeps the record beside it once the commit gives the entry its index, in
the caller's transaction: the action, its entry and its record commit together or not at all,
and the signed log proves the record was not changed later.

A bundle is written the first time a database sees its version. Which versions a database
already holds is remembered per engine, but only once the transaction that wrote (or found) the
row has committed: a rolled-back first decision leaves nothing remembered, and the next one
writes the bundle again.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from audit.entry import Entry
from audit.store import Appended
from gateway.auditing.service import Recorded, record
from gateway.db import utcnow
from gateway.decisions.models import DecisionRecord, PolicyBundleRecord
from gateway.policy.bundle import PolicyBundle
from gateway.policy.decision import Ruling

_KNOWN: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_PENDING = "kindkoppeling.bundles_pending"


def record_decision(
    session: Session,
    bundle: PolicyBundle,
    entry: Entry,
    ruling: Ruling[Any],
    *,
    exchange_id: str | None = None,
    child_id: str | None = None,
) -> Recorded:
    """Record ``entry``, committing to the ruling's input and answer, and keep the decision
    record beside it under the entry's action, once the commit gives the entry its place."""
    if ruling.policy_version != bundle.version:
        raise ValueError("the ruling was not made with this bundle")
    recorded = record(
        session, replace(entry, input_hash=ruling.input_hash, decision_hash=ruling.decision_hash)
    )
    store_bundle(session, bundle)

    def keep(appended: Appended) -> None:
        session.add(
            DecisionRecord(
                audit_index=appended.index,
                exchange_id=exchange_id,
                child_id=child_id,
                action=entry.action,
                package=ruling.package,
                policy_version=bundle.version,
                input=ruling.input,
                answer=ruling.document,
                commitments=ruling.commitments or None,
                recorded_at=utcnow(),
            )
        )

    recorded.then(keep)
    return recorded


def store_bundle(session: Session, bundle: PolicyBundle) -> None:
    """Make sure the database holds ``bundle`` under its version (in the caller's transaction)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if bundle.version in _KNOWN.get(engine, ()):
        return
    values = {"version": bundle.version, "files": bundle.files, "stored_at": utcnow()}
    dialect_insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(PolicyBundleRecord).values(values).on_conflict_do_nothing()
    session.execute(statement)
    session.info.setdefault(_PENDING, set()).add((engine, bundle.version))


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    for engine, version in session.info.pop(_PENDING, ()):
        _KNOWN.setdefault(engine, set()).add(version)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
