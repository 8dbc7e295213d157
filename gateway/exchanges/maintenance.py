"""Expiry, shredding, the at-home alerts, closing school years and erasing what is past its
retention, ending old portal logins, and telling officers of late break-glass reviews
(:mod:`gateway.oversight.overdue`), on a timer inside ``serve`` and once on demand
(``gateway maintenance run``). Both call :func:`gateway.exchanges.expiry.expire_due`,
:meth:`Signals.raise_at_home_alerts`, :func:`gateway.statistics.service.close_ended_years`,
:func:`gateway.signals.retention.erase_lapsed` and :func:`gateway.portal.logins.purge`, which
are idempotent, so a timer shorter than a day is harmless: an alert is raised once, on the first
run of the day it is due, and a school year is closed once.

Of several replicas (or worker processes) on one database, one runs each interval: the timer
of each may tick, but a run needs the maintenance lease (:mod:`gateway.leases`), so closing a
school year never races. Each run then signs a checkpoint of the audit log if it grew, so the
newest checkpoint is never older than the interval and its age (a metric) shows a stalled
service, and sends it to the witnesses, if any are configured
(:mod:`gateway.auditing.witnessing`): cosigning happens here, never on a request's path."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from audit.note import Signer
from gateway import leases, rate_limits, tracing
from gateway.auditing import service as auditing
from gateway.auditing.witnessing import Witnesses, submit_latest
from gateway.background import to_completion
from gateway.errors import GatewayError
from gateway.exchanges import expiry
from gateway.exchanges.expiry import MaintenanceReport
from gateway.oversight.overdue import notify_overdue_reviews
from gateway.portal import logins
from gateway.signals.retention import erase_lapsed
from gateway.signals.service import Signals
from gateway.statistics.service import close_ended_years

log = structlog.get_logger(__name__)

NO_WITNESSES = Witnesses()
MAINTENANCE_LEASE = "maintenance"
RUN_LEASE = timedelta(minutes=15)  # longer than any run; a process that dies frees it after this


def maintain(
    session: Session, signals: Signals, signer: Signer, witnesses: Witnesses = NO_WITNESSES
) -> MaintenanceReport:
    """One maintenance run: expiry and shredding, the at-home alerts, storing the statistics of
    ended school years and then erasing the records past retention that only they still
    counted, ending portal logins past their lifetime, telling officers of break-glass reviews
    that fell overdue, then a checkpoint and its witnesses."""
    report = expiry.expire_due(signals.exchanges, session)
    report.alerts_raised = signals.raise_at_home_alerts(session)
    report.school_years_closed = len(close_ended_years(session, signals.exchanges))
    session.commit()
    report.records_erased = erase_lapsed(session, signals)
    report.logins_ended = logins.purge(session)
    report.reviews_overdue = notify_overdue_reviews(session, datetime.now(UTC))
    rate_limits.purge(session, datetime.now(UTC) - timedelta(hours=2))
    session.commit()
    auditing.checkpoint(session, signer)
    report.witnesses_asked = len(submit_latest(session, witnesses))
    return report


def run_once(
    sessions: sessionmaker[Session],
    signals: Signals,
    signer: Signer,
    witnesses: Witnesses = NO_WITNESSES,
    interval: timedelta | None = None,
) -> MaintenanceReport | None:
    """One run, holding the maintenance lease (:mod:`gateway.leases`); with ``interval``, only
    if no run started within (most of) it, so of several replicas one runs per interval. None
    when another process runs it, or ran it within the interval."""
    tracing.begin()  # the entries of one run share a trace
    with sessions() as session:
        now = datetime.now(UTC)
        not_since = None if interval is None else interval * 0.9
        if not leases.acquire(session, MAINTENANCE_LEASE, now, RUN_LEASE, not_since=not_since):
            running = leases.holder_of(session, MAINTENANCE_LEASE, now)
            log.info("maintenance_skipped", running=running)
            return None
        try:
            report = maintain(session, signals, signer, witnesses)
        finally:
            leases.release(session, MAINTENANCE_LEASE, datetime.now(UTC))
    log.info(
        "maintenance",
        consents_expired=report.consents_expired,
        exchanges_expired=report.exchanges_expired,
        payloads_shredded=report.payloads_shredded,
        alerts_raised=report.alerts_raised,
        school_years_closed=report.school_years_closed,
        records_erased=report.records_erased,
        logins_ended=report.logins_ended,
        reviews_overdue=report.reviews_overdue,
        witnesses_asked=report.witnesses_asked,
    )
    return report


async def run_periodically(
    sessions: sessionmaker[Any],
    signals: Signals,
    signer: Signer,
    interval: int,
    witnesses: Witnesses = NO_WITNESSES,
) -> None:
    """Run maintenance now and every ``interval`` seconds until cancelled. A failed run (the
    database or the audit log unavailable) is logged and retried at the next tick."""
    while True:
        try:
            await to_completion(
                run_once, sessions, signals, signer, witnesses, timedelta(seconds=interval)
            )
        except (GatewayError, OSError) as exc:
            log.error("maintenance_failed", error=type(exc).__name__)
        except Exception as exc:
            log.error("maintenance_failed", error=type(exc).__name__, exc_info=exc)
        await asyncio.sleep(interval)
