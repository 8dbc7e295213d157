"""How long the gateway keeps its own records of signals, exemptions and at-home alerts.

DOMAIN rule 7: data does not linger. A signal's or an exemption's payload is shredded with its
exchange; this module ends the gateway's own record of it, which holds the child's row, the
gemeente, the type and the dates. A record is erased when both have passed:

- its purpose's retention period (``retention_days`` in ``policies/purposes/data.json``),
  counted for a signal from the moment it was reported, for an exemption from its last day;
- every school year whose statistics can count it, each closed with its table stored
  (:func:`gateway.statistics.service.close_ended_years`), so erasing it does not change a
  published figure.

An at-home alert goes with the signal or exemption that raised it. Each erasure gets an audit
entry naming the kind of record and its id, in the same transaction as the erasure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children.models import Child
from gateway.signals.models import AbsenceSignal, AtHomeAlert, Exemption
from gateway.signals.service import VERZUIM, VRIJSTELLING, Signals
from gateway.statistics.service import closed_years, last_year_counting

RETENTION_ACTOR = Actor(type="system", id="gateway-retention")


def erase_lapsed(session: Session, signals: Signals) -> int:
    """Erase every signal and exemption past its retention whose school years are closed,
    with their alerts; returns how many signals and exemptions went. Idempotent; commits."""
    closed = closed_years(session)
    if not closed:
        return 0
    today = signals.today()
    # Nothing from after the last closed year can be erased yet: a cheap bound for the queries;
    # last_year_counting below decides.
    open_from = date(max(closed) + 1, 8, 1)
    reported_before = min(open_from, today - timedelta(days=_retention_days(signals, VERZUIM)))
    lapsed: list[tuple[AbsenceSignal | Exemption, str]] = [
        (signal, VERZUIM)
        for signal in session.scalars(
            select(AbsenceSignal).where(
                AbsenceSignal.reported_at < datetime.combine(reported_before, time.min, UTC)
            )
        )
    ]
    ended_before = min(open_from, today - timedelta(days=_retention_days(signals, VRIJSTELLING)))
    lapsed += [
        (exemption, VRIJSTELLING)
        for exemption in session.scalars(
            select(Exemption).where(Exemption.valid_until < ended_before)
        )
    ]
    erased = 0
    for record, purpose in lapsed:
        if last_year_counting(record) not in closed:
            continue
        alerts = list(session.scalars(select(AtHomeAlert).where(AtHomeAlert.cause_id == record.id)))
        kind = "signal" if isinstance(record, AbsenceSignal) else "exemption"
        signals.audit(
            session,
            f"{kind}.erase",
            RETENTION_ACTOR,
            session.get_one(Child, record.child_id),
            purpose,
            subject=record.id,
            extra={"why": "retention period ended", "alerts": str(len(alerts))},
        )
        for row in (*alerts, record):
            session.delete(row)
        session.commit()
        erased += 1
    return erased


def _retention_days(signals: Signals, purpose: str) -> int:
    spec = signals.exchanges.decider.bundle.purpose(purpose)
    if spec is None:
        raise LookupError(f"The policy data has no purpose {purpose}.")
    return int(spec["retention_days"])
