"""The ways an exchange ends before its retention period does: a party withdraws it, a school
confirms a place (the other candidate schools' copies go), or the policy stops allowing it.
Every ending is on the record, and destroys the payload's data key (crypto-shredding, ADR 0005);
a fetched exchange stays fetched (history is not rewritten) but its stored copy goes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children.models import Child
from gateway.consent.models import Consent, ConsentStatus
from gateway.errors import ConflictError, ForbiddenError
from gateway.exchanges.lifecycle import OPEN, check_transition
from gateway.exchanges.models import Exchange
from gateway.exchanges.models import ExchangeStatus as S
from gateway.exchanges.reading import get_for_party
from gateway.exchanges.recording import record_decision, record_step
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.policy.decision import Decision, Ruling


def withdraw(
    work: Exchanges,
    session: Session,
    organisation: Organisation,
    actor: Actor,
    exchange_id: str,
    reason: str | None,
) -> Exchange:
    """Either party calls an exchange off before it is fetched; a stored payload is shredded."""
    exchange = get_for_party(session, organisation, exchange_id)
    check_transition(exchange.status, S.WITHDRAWN)
    child = session.get_one(Child, exchange.child_id)
    side = "source" if organisation.id == exchange.source_id else "recipient"
    why = f"withdrawn by the {side}" + (f": {reason}" if reason else "")
    end(work, session, exchange, child, S.WITHDRAWN, why, actor)
    session.commit()
    return exchange


def confirm_placement(
    work: Exchanges, session: Session, organisation: Organisation, actor: Actor, exchange_id: str
) -> Exchange:
    """A school offers a place (staged disclosure): the shelter may now send it the full
    dossier, and the other candidate schools' copies are shredded."""
    exchange = get_for_party(session, organisation, exchange_id)
    if not work.purpose(exchange.purpose).get("full_requires_placement"):
        raise ConflictError("This purpose has no placement to confirm.")
    if organisation.id != exchange.recipient_id or organisation.role != OrganisationRole.SCHOOL:
        raise ForbiddenError("Only the school that received the summary confirms a place.")
    if exchange.status not in (S.AWAITING_DELIVERY, S.DELIVERED, S.FETCHED):
        raise ConflictError(
            f"A place cannot be confirmed on an exchange that is {exchange.status.value}.",
            exchange_status=exchange.status.value,
        )
    if exchange.placement_confirmed_at is not None:
        return exchange
    child = session.get_one(Child, exchange.child_id)
    exchange.placement_confirmed_at = work.clock()
    record_step(work, session, "placement.confirm", actor, exchange, child, outcome="success")
    others = session.scalars(
        select(Exchange)
        .join(Organisation, Organisation.id == Exchange.recipient_id)
        .where(
            Exchange.child_id == exchange.child_id,
            Exchange.purpose == exchange.purpose,
            Exchange.source_id == exchange.source_id,
            Exchange.recipient_id != exchange.recipient_id,
            Organisation.role == OrganisationRole.SCHOOL,
            Exchange.status.in_(OPEN),
        )
    )
    for other in others:
        end_or_shred(work, session, other, child, S.WITHDRAWN, "placed at another school", actor)
    session.commit()
    return exchange


def stop(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    ruling: Ruling[Decision],
    actor: Actor,
    now: datetime,
) -> None:
    """The policy no longer allows this exchange: end it, and say why in its record."""
    record_decision(work, session, "decision", actor, exchange, child, ruling)
    relied = [session.get(Consent, cid) for cid in exchange.relied_consent_ids]
    if any(c is not None and c.status == ConsentStatus.REVOKED for c in relied):
        target, why = S.REVOKED, "consent revoked"
    elif any(c is not None and c.valid_until and c.valid_until <= now for c in relied):
        target, why = S.EXPIRED, "consent expired"
    else:
        target, why = S.DENIED, " ".join(ruling.answer.reasons)
    end_or_shred(work, session, exchange, child, target, why, actor)


def end_or_shred(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    target: S,
    why: str,
    actor: Actor,
) -> None:
    """End ``exchange`` as ``target``; a fetched one keeps its state and loses its copy."""
    if exchange.status == S.FETCHED:
        shred(work, session, exchange, child, why, actor)
    else:
        end(work, session, exchange, child, target, why, actor)


def end(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    target: S,
    why: str,
    actor: Actor,
) -> None:
    move(exchange, target)
    exchange.status_reason = why
    action = {S.EXPIRED: "exchange.expire", S.WITHDRAWN: "exchange.withdraw"}.get(
        target, f"exchange.{target.value}"
    )
    record_step(
        work, session, action, actor, exchange, child, outcome="success", extra={"why": why[:200]}
    )
    shred(work, session, exchange, child, why, actor)


def shred(
    work: Exchanges, session: Session, exchange: Exchange, child: Child, why: str, actor: Actor
) -> None:
    """Destroy the payload's data key, ciphertext and reactions; the field names stay."""
    payload = exchange.payload
    if payload is None or payload.shredded:
        return
    payload.wrapped_key = None
    payload.ciphertext = None
    payload.reactions = None
    payload.key_id = None
    payload.shredded_at = work.clock()
    payload.shred_reason = why[:64]
    record_step(
        work,
        session,
        "shred",
        actor,
        exchange,
        child,
        outcome="success",
        fields=list(payload.fields),
        extra={"why": why[:200]},
    )


def relying_on(session: Session, consent: Consent) -> list[Exchange]:
    """The open exchanges that rely on ``consent`` (or asked for it)."""
    query = select(Exchange).where(
        Exchange.child_id == consent.child_id,
        Exchange.purpose == consent.purpose,
        Exchange.status.in_(OPEN),
    )
    if consent.grantee_id is not None:  # a consent ahead of time may cover several
        query = query.where(Exchange.recipient_id == consent.grantee_id)
    candidates = session.scalars(query)
    return [
        e for e in candidates if consent.id in e.relied_consent_ids or e.id == consent.exchange_id
    ]


def move(exchange: Exchange, target: S) -> None:
    check_transition(exchange.status, target)
    exchange.status = target
