"""The end of a retention period: consents and exchanges that are due expire, and their
payloads are shredded. Maintenance runs this (:mod:`gateway.exchanges.maintenance`); it is
idempotent, and commits per consent and per exchange, so an interrupted run loses nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children.models import Child
from gateway.consent import service as consents
from gateway.consent.models import ConsentStatus
from gateway.exchanges.ending import end, end_or_shred, relying_on
from gateway.exchanges.lifecycle import OPEN
from gateway.exchanges.models import Exchange
from gateway.exchanges.models import ExchangeStatus as S
from gateway.exchanges.recording import record_consent
from gateway.exchanges.work import Exchanges

MAINTENANCE_ACTOR = Actor(type="system", id="gateway-maintenance")


@dataclass
class MaintenanceReport:
    consents_expired: int = 0
    exchanges_expired: int = 0
    payloads_shredded: int = 0
    alerts_raised: int = 0  # at-home alerts (gateway.signals), counted by the maintenance run
    logins_ended: int = 0  # portal logins past their lifetime (gateway.portal.logins)
    school_years_closed: int = 0  # statistics tables stored (gateway.statistics)
    records_erased: int = 0  # signals and exemptions past retention (gateway.signals.retention)
    witnesses_asked: int = 0  # witnesses the latest checkpoint went to (gateway.auditing)
    reviews_overdue: int = 0  # break-glass reviews newly late, officers told (gateway.oversight)


def expire_due(work: Exchanges, session: Session) -> MaintenanceReport:
    """Expire consents and exchanges that are due, shredding their payloads."""
    now = work.clock()
    report = MaintenanceReport()
    for consent in consents.due_to_expire(session, now):
        consent.status = ConsentStatus.EXPIRED
        child = session.get_one(Child, consent.child_id)
        record_consent(work, session, "consent.expire", MAINTENANCE_ACTOR, consent, child, None)
        report.consents_expired += 1
        for exchange in relying_on(session, consent):
            report.payloads_shredded += _held(exchange)
            report.exchanges_expired += exchange.status != S.FETCHED
            end_or_shred(
                work, session, exchange, child, S.EXPIRED, "consent expired", MAINTENANCE_ACTOR
            )
        session.commit()
    due = session.scalars(
        select(Exchange)
        .where(Exchange.status.in_(OPEN), Exchange.expires_at <= now)
        .order_by(Exchange.expires_at)
    )
    for exchange in due:
        child = session.get_one(Child, exchange.child_id)
        report.payloads_shredded += _held(exchange)
        end(work, session, exchange, child, S.EXPIRED, "retention period ended", MAINTENANCE_ACTOR)
        report.exchanges_expired += 1
        session.commit()
    return report


def _held(exchange: Exchange) -> int:
    return int(exchange.payload is not None and not exchange.payload.shredded)
