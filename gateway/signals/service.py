"""Signals to leerplicht, the exemption register, and at-home alerts.

Each flow is one transaction: the exchange is opened and decided by the policy, the payload
sealed, the gateway's own record written and every step audited, then committed together. A
signal goes to the leerplicht office of the child's gemeente, found by its gemeentecode; the
organisation that reports never picks the recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import child_reference, record
from gateway.children.models import Child
from gateway.errors import ForbiddenError, ValidationFailedError
from gateway.exchanges import creating, delivering
from gateway.exchanges.creating import NewExchange
from gateway.exchanges.models import Direction, Exchange, ExchangeStatus
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.organisations.service import leerplicht_of, swvs_serving
from gateway.signals.models import AbsenceSignal, AtHomeAlert, Exemption
from gateway.signals.thresholds import ALERT_MONTHS, Signal, SignalType, add_months

VERZUIM = "verzuimmelding"
VRIJSTELLING = "vrijstelling-status"
SIGNAL_FIELDS = ["absence_period", "school", "signal_type"]
EXEMPTION_FIELDS = ["exempted", "article", "valid_until"]
REGISTER_ACTOR = Actor(type="system", id="gateway-exemption-register", role="leerplicht")
ALERT_ACTOR = Actor(type="system", id="gateway-at-home-alerts")
# Evidence that a child has a school again: the school confirmed a place, or a school received
# the child's file for a transfer or a start.
PLACEMENT_PURPOSES = ("onderwijskundig-rapport", "warme-overdracht")
AT_HOME = (SignalType.THUISZITTER, SignalType.NOT_ENROLLED)


@dataclass(frozen=True)
class _Cause:
    """Why a child may be out of view: an exemption, or a thuiszitter signal."""

    kind: str  # "exemption" or "thuiszitter"
    id: str
    child_id: str
    leerplicht_id: str
    gemeente: str
    since: date
    reference: str  # what leerplicht knows the case by


@dataclass(frozen=True)
class Reported:
    signal: AbsenceSignal | None  # None when the policy denied the exchange
    exchange: Exchange
    created: bool


@dataclass
class Signals:
    """The leerplicht flows, on top of the exchange service (whose clock they share)."""

    exchanges: Exchanges

    def today(self) -> date:
        return self.exchanges.clock().date()

    # --- verzuim and thuiszitter signals ------------------------------------------------------

    def report(
        self,
        session: Session,
        reporter: Organisation,
        actor: Actor,
        child: Child,
        gemeente: str,
        signal: Signal,
    ) -> Reported:
        """Deliver ``signal`` to the leerplicht office of ``gemeente``. The same report sent
        again returns the signal made the first time."""
        earlier = session.scalar(
            select(AbsenceSignal).where(
                AbsenceSignal.child_id == child.id,
                AbsenceSignal.reporter_id == reporter.id,
                AbsenceSignal.signal_type == signal.type,
                AbsenceSignal.since == signal.start,
            )
        )
        if earlier is not None:
            return Reported(earlier, session.get_one(Exchange, earlier.exchange_id), False)
        leerplicht = _leerplicht(session, gemeente)
        order = NewExchange(
            purpose=VERZUIM,
            direction=Direction.OFFER,
            counterparty_id=leerplicht.id,
            child=child,
            requested_fields=SIGNAL_FIELDS,
        )
        exchange = creating.open_exchange(self.exchanges, session, reporter, actor, order)
        if exchange.status != ExchangeStatus.AWAITING_DELIVERY:
            session.commit()
            return Reported(None, exchange, True)
        payload = signal.payload(school=f"{reporter.identifier} {reporter.name}")
        self.exchanges.schemas.validate(VERZUIM, payload)
        delivering.seal_payload(self.exchanges, session, exchange, child, actor, payload)
        row = AbsenceSignal(
            exchange_id=exchange.id,
            child_id=child.id,
            reporter_id=reporter.id,
            leerplicht_id=leerplicht.id,
            gemeente_code=gemeente,
            signal_type=signal.type,
            since=signal.start,
            reported_at=self.exchanges.clock(),
        )
        session.add(row)
        session.commit()
        return Reported(row, exchange, True)

    # --- exemptions -----------------------------------------------------------------------------

    def record_exemption(
        self,
        session: Session,
        leerplicht: Organisation,
        actor: Actor,
        child: Child,
        *,
        article: str,
        valid_from: date,
        valid_until: date,
    ) -> Exemption:
        """Leerplicht records *that* a child is exempted; there is nowhere to put why."""
        if leerplicht.role is not OrganisationRole.LEERPLICHT or leerplicht.gemeente_code is None:
            raise ForbiddenError("Only a leerplicht office records exemptions.")
        if valid_until < max(valid_from, self.today()):
            raise ValidationFailedError(
                "An exemption is recorded while it is in force: valid_until lies in the past "
                "or before valid_from.",
                errors=[{"pointer": "#/valid_until", "detail": "before today or valid_from"}],
            )
        exemption = Exemption(
            child_id=child.id,
            leerplicht_id=leerplicht.id,
            gemeente_code=leerplicht.gemeente_code,
            article=article,
            valid_from=valid_from,
            valid_until=valid_until,
            recorded_at=self.exchanges.clock(),
        )
        session.add(exemption)
        session.flush()
        self.audit(
            session,
            "exemption.record",
            actor,
            child,
            VRIJSTELLING,
            fields=EXEMPTION_FIELDS,
            subject=exemption.id,
        )
        session.commit()
        return exemption

    def exemptions_of(self, session: Session, leerplicht: Organisation) -> list[Exemption]:
        return list(
            session.scalars(
                select(Exemption)
                .where(Exemption.leerplicht_id == leerplicht.id)
                .order_by(Exemption.recorded_at.desc(), Exemption.id)
                .limit(500)
            )
        )

    def check_exemption(
        self, session: Session, asker: Organisation, actor: Actor, child: Child, gemeente: str
    ) -> Exchange:
        """An SWV asks leerplicht whether a child is exempted; when the policy allows it, the
        register answers at once on leerplicht's behalf: exempted or not, the article and the
        end date. The asker fetches the answer like any payload."""
        leerplicht = _leerplicht(session, gemeente)
        order = NewExchange(
            purpose=VRIJSTELLING,
            direction=Direction.REQUEST,
            counterparty_id=leerplicht.id,
            child=child,
            requested_fields=EXEMPTION_FIELDS,
        )
        exchange = creating.open_exchange(self.exchanges, session, asker, actor, order)
        if exchange.status == ExchangeStatus.AWAITING_DELIVERY:
            current = self.current_exemption(session, child.id, leerplicht.id)
            answer: dict[str, object] = {"exempted": current is not None}
            if current is not None:
                answer |= {
                    "article": current.article,
                    "valid_until": current.valid_until.isoformat(),
                }
            delivering.seal_payload(
                self.exchanges, session, exchange, child, REGISTER_ACTOR, answer
            )
        session.commit()
        return exchange

    def current_exemption(
        self, session: Session, child_id: str, leerplicht_id: str
    ) -> Exemption | None:
        today = self.today()
        return session.scalar(
            select(Exemption)
            .where(
                Exemption.child_id == child_id,
                Exemption.leerplicht_id == leerplicht_id,
                Exemption.valid_from <= today,
                Exemption.valid_until >= today,
            )
            .order_by(Exemption.recorded_at.desc())
            .limit(1)
        )

    # --- at-home alerts -------------------------------------------------------------------------

    def raise_at_home_alerts(self, session: Session) -> int:
        """The daily job: every exempted child and every thuiszitter without a new school
        place for three months is brought to the attention of leerplicht and of the SWVs of
        the gemeente. Idempotent: a cause alerts each recipient once."""
        today = self.today()
        early = today - timedelta(days=28 * ALERT_MONTHS)  # a cheap bound; exact check below
        causes = [
            _Cause(
                "exemption", e.id, e.child_id, e.leerplicht_id, e.gemeente_code, e.valid_from, e.id
            )
            for e in session.scalars(
                select(Exemption).where(
                    Exemption.valid_from <= early, Exemption.valid_until >= today
                )
            )
        ]
        causes += [
            _Cause(
                "thuiszitter",
                s.id,
                s.child_id,
                s.leerplicht_id,
                s.gemeente_code,
                s.reported_at.date(),
                s.exchange_id,
            )
            for s in session.scalars(
                select(AbsenceSignal).where(
                    AbsenceSignal.signal_type.in_(AT_HOME),
                    AbsenceSignal.reported_at <= _end_of(early),
                )
            )
        ]
        raised = 0
        for c in causes:
            due = add_months(c.since, ALERT_MONTHS) <= today
            if not due or placed_between(session, c.child_id, c.since):
                continue
            child = session.get_one(Child, c.child_id)
            recipients = [c.leerplicht_id, *(o.id for o in swvs_serving(session, c.gemeente))]
            for recipient in recipients:
                if _alerted(session, c.child_id, recipient, c.kind, c.since):
                    continue
                alert = AtHomeAlert(
                    child_id=c.child_id,
                    recipient_id=recipient,
                    leerplicht_id=c.leerplicht_id,
                    gemeente_code=c.gemeente,
                    cause=c.kind,
                    cause_id=c.id,
                    case_reference=c.reference,
                    since=c.since,
                    raised_at=self.exchanges.clock(),
                )
                session.add(alert)
                session.flush()
                purpose = VRIJSTELLING if c.kind == "exemption" else VERZUIM
                self.audit(
                    session,
                    "alert.at_home",
                    ALERT_ACTOR,
                    child,
                    purpose,
                    subject=alert.id,
                    requester_id=recipient,
                    extra={"cause": c.kind},
                )
                raised += 1
        session.commit()
        return raised

    def alerts_for(self, session: Session, organisation: Organisation) -> list[AtHomeAlert]:
        return list(
            session.scalars(
                select(AtHomeAlert)
                .where(AtHomeAlert.recipient_id == organisation.id)
                .order_by(AtHomeAlert.raised_at.desc(), AtHomeAlert.id)
                .limit(500)
            )
        )

    # --- the record -------------------------------------------------------------------------------

    def audit(
        self,
        session: Session,
        action: str,
        actor: Actor,
        child: Child,
        purpose: str,
        *,
        fields: list[str] | tuple[str, ...] = (),
        subject: str | None = None,
        requester_id: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Add the audit entry of one step of these flows (names and ids, never values)."""
        spec = self.exchanges.decider.bundle.purpose(purpose) or {}
        record(
            session,
            Entry(
                action=action,
                actor=actor,
                outcome="success",
                child_ref=child_reference(session, child),
                purpose=purpose,
                processing_activity_id=spec.get("uri"),
                legal_basis=spec["routes"][0]["basis"] if spec.get("routes") else None,
                fields=tuple(fields),
                subject=subject,
                requester_id=requester_id,
                extra=extra or {},
            ),
        )


def _leerplicht(session: Session, gemeente: str) -> Organisation:
    office = leerplicht_of(session, gemeente)
    if office is None:
        raise ValidationFailedError(
            f"No active leerplicht office is registered for gemeente {gemeente}.",
            errors=[{"pointer": "#/gemeente", "detail": "no leerplicht office for this gemeente"}],
        )
    return office


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def placed_between(session: Session, child_id: str, since: date, until: date | None = None) -> bool:
    """Has a school taken the child in from ``since`` (up to ``until``): a confirmed place, or
    a school that received the child's file for a transfer or a start?"""
    after = _end_of(since - timedelta(days=1))
    before = _end_of(until or date.max - timedelta(days=1))
    school = select(Organisation.id).where(Organisation.role == OrganisationRole.SCHOOL)
    return bool(
        session.scalar(
            select(
                exists().where(
                    Exchange.child_id == child_id,
                    or_(
                        Exchange.placement_confirmed_at.between(after, before),
                        (Exchange.purpose.in_(PLACEMENT_PURPOSES))
                        & Exchange.recipient_id.in_(school)
                        & Exchange.delivered_at.between(after, before),
                    ),
                )
            )
        )
    )


def _alerted(session: Session, child_id: str, recipient: str, cause: str, since: date) -> bool:
    """Is this child already in the recipient's view for this kind of cause, since ``since``?"""
    return bool(
        session.scalar(
            select(
                exists().where(
                    AtHomeAlert.child_id == child_id,
                    AtHomeAlert.recipient_id == recipient,
                    AtHomeAlert.cause == cause,
                    AtHomeAlert.since >= since,
                )
            )
        )
    )
