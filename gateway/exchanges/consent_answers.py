"""The parents' and the child's answers to the exchanges about them (the portal calls these):
a grant or a decline moves the exchange that asked on, a consent given ahead of time covers the
later exchanges it names, and a revocation stops what has not been delivered and shreds what has
not been fetched."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.children.models import Child
from gateway.consent import service as consents
from gateway.consent.models import Consent
from gateway.exchanges.deciding import decide, follow_obligations
from gateway.exchanges.ending import end_or_shred, move, relying_on
from gateway.exchanges.models import Exchange
from gateway.exchanges.models import ExchangeStatus as S
from gateway.exchanges.recording import holder_actor, record_consent, record_decision
from gateway.exchanges.work import Exchanges


def answer_consent(
    work: Exchanges,
    session: Session,
    consent_id: str,
    holder: str,
    *,
    grant: bool,
    fields: list[str] | None = None,
    valid_until: datetime | None = None,
    provenance: consents.Provenance = consents.Provenance(),  # noqa: B008 - frozen
) -> Consent:
    """A holder grants or declines; the exchange that asked moves on when all have answered.
    A grant lasts until ``valid_until``, by default the purpose's retention period."""
    consent = consents.get(session, consent_id, holder)
    now = work.clock()
    retention = timedelta(days=int(work.purpose(consent.purpose).get("retention_days", 30)))
    consents.answer(
        consent,
        grant=grant,
        fields=fields,
        now=now,
        valid_until=valid_until or now + retention,
        provenance=provenance,
    )
    child = session.get_one(Child, consent.child_id)
    actor = holder_actor(holder)
    exchange = session.get(Exchange, consent.exchange_id) if consent.exchange_id else None
    action = "consent.grant" if grant else "consent.decline"
    record_consent(work, session, action, actor, consent, child, exchange)
    if exchange is not None and exchange.status == S.AWAITING_CONSENT:
        session.flush()
        ruling = decide(work, session, exchange, child, now)
        decision = ruling.answer
        record_decision(work, session, "decision", actor, exchange, child, ruling)
        if decision.allow:
            move(exchange, S.AWAITING_DELIVERY)
            exchange.relied_consent_ids = list(decision.consents_relied)
        elif not decision.awaiting_consent:
            move(exchange, S.DENIED)
            exchange.status_reason = " ".join(decision.reasons)
        follow_obligations(session, exchange, decision)
    session.commit()
    return consent


def give_standing_consent(
    work: Exchanges,
    session: Session,
    child: Child,
    holder: str,
    standing: consents.StandingConsent,
    *,
    provenance: consents.Provenance = consents.Provenance(),  # noqa: B008 - frozen
) -> Consent:
    """A consent given ahead of time (like Mitz): for one purpose, to a named organisation
    or every organisation of a role in some gemeenten, for chosen fields, until a date
    within the purpose's maximum. The policy counts it for each later exchange it covers.
    The caller has established that ``holder`` may consent for ``child``; this commits."""
    spec = work.purpose(standing.purpose)
    consent = consents.give_standing(
        session, child.id, holder, standing, spec, now=work.clock(), provenance=provenance
    )
    record_consent(work, session, "consent.grant", holder_actor(holder), consent, child, None)
    session.commit()
    return consent


def revoke_consent(
    work: Exchanges, session: Session, consent_id: str, holder: str, *, via: str | None = None
) -> Consent:
    """Revocation stops what has not been delivered and shreds what has not been fetched;
    a fetched exchange stays fetched (history is not rewritten) but its stored copy goes."""
    consent = consents.get(session, consent_id, holder)
    consents.revoke(consent, now=work.clock(), via=via)
    child = session.get_one(Child, consent.child_id)
    actor = holder_actor(holder)
    record_consent(work, session, "consent.revoke", actor, consent, child, None)
    for exchange in relying_on(session, consent):
        end_or_shred(work, session, exchange, child, S.REVOKED, "consent revoked", actor)
    session.commit()
    return consent
