"""The state of the database as metrics, read at scrape time so every worker answers the same
and a restart loses nothing: audit log size and the age of its last checkpoint, payloads
shredded by reason, consents and exchanges by state, break-glass reviews past their deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from audit import store
from gateway.consent.models import Consent
from gateway.exchanges.models import Exchange, Payload
from gateway.metrics.counters import PREFIX
from gateway.oversight.service import overdue_reviews


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time; ``database_up`` 0 when it does not answer."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the database answered the scrape.")
        try:
            with self.sessions() as session:
                families = list(self._read(session))
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, session: Session) -> Iterator[Metric]:
        entries = GaugeMetricFamily(f"{PREFIX}_audit_entries", "Entries in the audit log.")
        entries.add_metric([], store.tree_size(session))
        yield entries

        latest = store.latest_checkpoint_time(session)
        if latest is not None:
            size, created = latest
            checkpoint_size = GaugeMetricFamily(
                f"{PREFIX}_audit_checkpoint_entries", "Tree size of the latest signed checkpoint."
            )
            checkpoint_size.add_metric([], size)
            yield checkpoint_size
            age = GaugeMetricFamily(
                f"{PREFIX}_audit_checkpoint_age_seconds",
                "Seconds since the latest checkpoint was signed.",
            )
            age.add_metric([], max(0.0, (datetime.now(UTC) - created).total_seconds()))
            yield age

        shredded = CounterMetricFamily(
            f"{PREFIX}_payloads_shredded",
            "Payloads whose data key was destroyed, by reason.",
            labels=["reason"],
        )
        for reason, count in session.execute(
            select(Payload.shred_reason, func.count())
            .where(Payload.shredded_at.is_not(None))
            .group_by(Payload.shred_reason)
        ):
            shredded.add_metric([reason or "unknown"], count)
        yield shredded

        consents = GaugeMetricFamily(
            f"{PREFIX}_consents", "Consent records by state.", labels=["status"]
        )
        for consent_status, count in session.execute(
            select(Consent.status, func.count()).group_by(Consent.status)
        ):
            consents.add_metric([str(consent_status)], count)
        yield consents

        overdue = GaugeMetricFamily(
            f"{PREFIX}_break_glass_reviews_overdue",
            "Break-glass exchanges whose privacy officer's review is past its deadline.",
        )
        overdue.add_metric([], overdue_reviews(session, None, datetime.now(UTC)))
        yield overdue

        exchanges = GaugeMetricFamily(
            f"{PREFIX}_exchanges", "Exchanges by purpose and state.", labels=["purpose", "status"]
        )
        for purpose, status, count in session.execute(
            select(Exchange.purpose, Exchange.status, func.count()).group_by(
                Exchange.purpose, Exchange.status
            )
        ):
            exchanges.add_metric([purpose, str(status)], count)
        yield exchanges
