"""Opening an exchange: an organisation asks for, or offers, a child's data for one purpose.
The policy decides before the row is written, so the exchange is stored once, with its
decision: allowed (awaiting delivery), awaiting the parents' consent, or denied. A create is
idempotent under an ``Idempotency-Key``: the same request again returns the first exchange."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children.models import Child
from gateway.dutch_time import working_days_after
from gateway.errors import IDEMPOTENCY_KEY_REUSED, ValidationFailedError
from gateway.exchanges.deciding import decide, follow_obligations
from gateway.exchanges.models import Direction, Exchange
from gateway.exchanges.models import ExchangeStatus as S
from gateway.exchanges.recording import record_decision
from gateway.exchanges.work import Exchanges
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_organisation
from gateway.policy.decision import Decision, Level, Ruling

DEFAULT_REVIEW_WORKING_DAYS = 5


@dataclass(frozen=True)
class NewExchange:
    """What an organisation asks for; the child is already identified."""

    purpose: str
    direction: Direction
    counterparty_id: str
    child: Child
    requested_fields: list[str]
    requested_level: Level | None = None
    reason: str | None = None
    break_glass_justification: str | None = None

    def fingerprint(self) -> str:
        """Identifies the request for Idempotency-Key checks; names the child by its row id."""
        document = {
            "purpose": self.purpose,
            "direction": self.direction.value,
            "counterparty_id": self.counterparty_id,
            "child": self.child.id,
            "requested_fields": self.requested_fields,
            "requested_level": self.requested_level.value if self.requested_level else None,
            "reason": self.reason,
            "break_glass": self.break_glass_justification,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def create(
    work: Exchanges,
    session: Session,
    organisation: Organisation,
    actor: Actor,
    order: NewExchange,
    *,
    idempotency_key: str | None = None,
) -> tuple[Exchange, bool]:
    """Decide and store a new exchange; returns it and whether it is new (idempotent POST)."""
    fingerprint = order.fingerprint()
    if idempotency_key is not None:
        earlier = _by_idempotency_key(session, organisation, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, False
    try:
        exchange = open_exchange(
            work, session, organisation, actor, order, idempotency_key=idempotency_key
        )
        session.commit()
    except IntegrityError:
        # The same Idempotency-Key raced us; the first request's exchange is the answer.
        session.rollback()
        if idempotency_key is None:
            raise
        earlier = _by_idempotency_key(session, organisation, idempotency_key, fingerprint)
        if earlier is None:
            raise
        return earlier, False
    return exchange, True


def open_exchange(
    work: Exchanges,
    session: Session,
    organisation: Organisation,
    actor: Actor,
    order: NewExchange,
    *,
    idempotency_key: str | None = None,
) -> Exchange:
    """Decide a new exchange and add it, with its audit entries, to the session. The caller
    commits, so a flow that opens and delivers at once (a signal) is one transaction."""
    exchange, parties = _draft(work, session, organisation, order, idempotency_key)
    now = exchange.created_at
    # Decided before it joins the session, so the row is written once, with its decision.
    ruling = decide(work, session, exchange, order.child, now, parties)
    decision = ruling.answer
    session.add(exchange)
    exchange.expires_at = now + timedelta(days=decision.retention_days or 0)
    if order.break_glass_justification:
        exchange.break_glass_review_due = review_due(work, exchange.purpose, now)
    action = "break_glass" if order.break_glass_justification else "decision"
    record_decision(work, session, action, actor, exchange, order.child, ruling)
    if decision.allow:
        exchange.status = S.AWAITING_DELIVERY
        exchange.relied_consent_ids = list(decision.consents_relied)
    elif decision.awaiting_consent:
        exchange.status = S.AWAITING_CONSENT
    else:
        exchange.status = S.DENIED
        exchange.status_reason = " ".join(decision.reasons)
        exchange.expires_at = now
    follow_obligations(session, exchange, decision)
    return exchange


def review_due(work: Exchanges, purpose: str, now: datetime) -> datetime:
    """When a privacy officer must have reviewed a break-glass exchange: the end of the
    register's ``break_glass_review_working_days`` (default 5) working days after it."""
    spec = work.decider.bundle.purpose(purpose) or {}
    days = int(spec.get("break_glass_review_working_days", DEFAULT_REVIEW_WORKING_DAYS))
    return working_days_after(now, days)


def preview(
    work: Exchanges, session: Session, organisation: Organisation, order: NewExchange
) -> Ruling[Decision]:
    """What the policy would decide if ``organisation`` opened this exchange now: the same
    input a create builds from the child's real facts. Nothing is added to the session."""
    exchange, parties = _draft(work, session, organisation, order, None)
    return decide(work, session, exchange, order.child, exchange.created_at, parties)


def _draft(
    work: Exchanges,
    session: Session,
    organisation: Organisation,
    order: NewExchange,
    idempotency_key: str | None,
) -> tuple[Exchange, tuple[Organisation, Organisation]]:
    """The new exchange as ``order`` describes it, not yet decided nor in the session, and
    its two parties (the caller and the counterparty)."""
    counterparty = find_organisation(session, order.counterparty_id)
    if counterparty is None or not counterparty.is_active:
        raise ValidationFailedError(
            "The counterparty is not an active registered organisation.",
            errors=[{"pointer": "#/counterparty_id", "detail": "no such active organisation"}],
        )
    offer = order.direction == Direction.OFFER
    now = work.clock()
    exchange = Exchange(
        id=str(uuid.uuid4()),
        purpose=order.purpose,
        direction=order.direction,
        initiator_id=organisation.id,
        source_id=organisation.id if offer else counterparty.id,
        recipient_id=counterparty.id if offer else organisation.id,
        child_id=order.child.id,
        requested_fields=list(order.requested_fields),
        requested_level=order.requested_level.value if order.requested_level else None,
        reason=order.reason,
        break_glass_justification=order.break_glass_justification,
        status=S.AWAITING_DELIVERY,  # replaced by the decision
        decision={},
        policy_version=work.decider.policy_version,
        relied_consent_ids=[],
        idempotency_key=idempotency_key,
        request_hash=order.fingerprint(),
        created_at=now,
        expires_at=now,
        payload=None,  # known to be empty, so it is not looked up again after the insert
    )
    return exchange, (organisation, counterparty)


def _by_idempotency_key(
    session: Session, organisation: Organisation, key: str | None, fingerprint: str
) -> Exchange | None:
    earlier = session.scalar(
        select(Exchange).where(
            Exchange.initiator_id == organisation.id, Exchange.idempotency_key == key
        )
    )
    if earlier is not None and earlier.request_hash != fingerprint:
        error = ValidationFailedError(
            "This Idempotency-Key was already used for a different request.",
            errors=[{"parameter": "Idempotency-Key", "in": "header", "detail": "already used"}],
        )
        error.problem = IDEMPOTENCY_KEY_REUSED
        raise error
    return earlier
