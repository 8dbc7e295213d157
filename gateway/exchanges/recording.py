"""The audit entries of the exchange steps: every step writes one in the step's transaction,
and a step decided by the policy keeps the decision's input and answer beside its entry
(:mod:`gateway.decisions.recording`), which commits to both by hash."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import Recorded, child_reference, decision_entry, record
from gateway.children.models import Child
from gateway.consent.models import Consent
from gateway.decisions import recording
from gateway.exchanges.models import Exchange
from gateway.exchanges.work import Exchanges
from gateway.policy.decision import Decision, Ruling


def holder_actor(holder: str) -> Actor:
    """A parent (guardian id) or the child, as the actor of a consent answer."""
    return Actor(type="user", id=holder, role="child" if holder == "child" else "guardian")


def purpose_uri(work: Exchanges, purpose: str) -> str | None:
    spec = work.decider.bundle.purpose(purpose)
    return str(spec["uri"]) if spec else None


def record_step(
    work: Exchanges,
    session: Session,
    action: str,
    actor: Actor,
    exchange: Exchange,
    child: Child,
    *,
    outcome: str,
    fields: Iterable[str] = (),
    extra: dict[str, str] | None = None,
    ruling: Ruling[Decision] | None = None,
) -> Recorded:
    """Append the entry of one step on ``exchange``; with ``ruling``, the decision it was made
    under is kept beside it."""
    decision = exchange.decision or {}
    entry = Entry(
        action=action,
        actor=actor,
        outcome=outcome,
        child_ref=child_reference(session, child),
        purpose=exchange.purpose,
        processing_activity_id=purpose_uri(work, exchange.purpose),
        legal_basis=decision.get("basis"),
        fields=tuple(fields),
        level=decision.get("level"),
        policy_version=exchange.policy_version,
        exchange_id=exchange.id,
        requester_id=exchange.recipient_id,
        source_id=exchange.source_id,
        emergency=exchange.break_glass_justification is not None,
        extra=extra or {},
    )
    return _keep(work, session, exchange, child, entry, ruling)


def record_decision(
    work: Exchanges,
    session: Session,
    action: str,
    actor: Actor,
    exchange: Exchange,
    child: Child,
    ruling: Ruling[Decision],
) -> None:
    """Append a decision on ``exchange`` (``decision`` or ``break_glass``) and keep it."""
    entry = decision_entry(action, actor, ruling, purpose_uri(work, exchange.purpose))
    entry = replace(
        entry,
        exchange_id=exchange.id,
        child_ref=child_reference(session, child),
    )
    _keep(work, session, exchange, child, entry, ruling)


def record_consent(
    work: Exchanges,
    session: Session,
    action: str,
    actor: Actor,
    consent: Consent,
    child: Child,
    exchange: Exchange | None,
) -> None:
    """Append a consent's grant, decline, revocation or expiry."""
    record(
        session,
        Entry(
            action=action,
            actor=actor,
            outcome="success",
            child_ref=child_reference(session, child),
            purpose=consent.purpose,
            processing_activity_id=purpose_uri(work, consent.purpose),
            legal_basis="consent",
            fields=tuple(consent.fields),
            level=consent.level,
            exchange_id=exchange.id if exchange else consent.exchange_id,
            requester_id=consent.grantee_id,
            subject=consent.id,
        ),
    )


def _keep(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    entry: Entry,
    ruling: Ruling[Decision] | None,
) -> Recorded:
    if ruling is None:
        return record(session, entry)
    return recording.record_decision(
        session, work.decider.bundle, entry, ruling, exchange_id=exchange.id, child_id=child.id
    )
