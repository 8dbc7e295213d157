"""Asking the policy about an exchange with the facts of this moment: the parties' roles, the
child's age, safety code and guardians, a confirmed placement, and the consents that bear on it.
Every step asks again, so a consent revoked or a safety code set since the last step counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children import service as children
from gateway.children.models import Child
from gateway.children.models import Guardian as GuardianRecord
from gateway.consent import service as consents
from gateway.errors import DENIED_BY_POLICY, ForbiddenError
from gateway.exchanges.ending import stop
from gateway.exchanges.models import Direction, Exchange
from gateway.exchanges.work import Exchanges
from gateway.organisations.models import Organisation
from gateway.policy.commitments import new_commitments
from gateway.policy.decision import (
    BreakGlass,
    Decision,
    DecisionInput,
    Guardian,
    Level,
    Party,
    Ruling,
    Subject,
)


def decide(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    now: datetime,
    known: Iterable[Organisation] = (),
) -> Ruling[Decision]:
    """The policy's ruling on ``exchange`` now, stored on it. ``known`` are parties already
    loaded (the session's identity map keeps only objects something else holds on to)."""
    rows = consents.relevant(
        session,
        exchange_id=exchange.id,
        relied=exchange.relied_consent_ids,
        child_id=child.id,
        purpose=exchange.purpose,
    )
    held = {organisation.id: organisation for organisation in known}
    parties = {
        party: held.get(party) or session.get_one(Organisation, party)
        for party in (exchange.source_id, exchange.recipient_id)
    }
    roles = {party: organisation.role for party, organisation in parties.items()}
    guardians = children.guardians_of(session, child)
    request = DecisionInput(
        purpose=exchange.purpose,
        initiator="source" if exchange.direction == Direction.OFFER else "recipient",
        source=Party(organisation_id=exchange.source_id, role=roles[exchange.source_id]),
        recipient=Party(
            organisation_id=exchange.recipient_id,
            role=roles[exchange.recipient_id],
            gemeente=parties[exchange.recipient_id].gemeente_code,
        ),
        requested_fields=list(exchange.requested_fields),
        requested_level=Level(exchange.requested_level) if exchange.requested_level else None,
        reason=exchange.reason,
        break_glass=(
            BreakGlass(justification=exchange.break_glass_justification)
            if exchange.break_glass_justification is not None
            else None
        ),
        subject=Subject(
            age=min(child.age_on(now.date()), 30),
            safety_code=child.safety_code,
            placement_confirmed=_placement_confirmed(work, session, exchange),
            guardians=[
                Guardian(
                    id=g.id,
                    gezag=g.gezag,
                    restricted=g.restricted,
                    accompanying=g.accompanying,
                )
                for g in guardians
            ],
        ),
        consents=consents.as_facts(rows),
        now=now,
    )
    ruling = replace(
        work.decider.rule(request),
        commitments=new_commitments(_suppliers(exchange, child, guardians)),
    )
    exchange.decision = ruling.document
    exchange.policy_version = ruling.policy_version
    return ruling


def _suppliers(exchange: Exchange, child: Child, guardians: list[GuardianRecord]) -> dict[str, str]:
    """The input facts a party may not be shown unless it supplied them (ADR 0013), by JSON
    pointer, with the organisation that did: the child's safety code, whether a parent is
    restricted or staying with the child in a shelter, and a break-glass justification."""
    suppliers = {}
    if child.safety_code is not None and child.safety_code_set_by is not None:
        suppliers["/subject/safety_code"] = child.safety_code_set_by
    for n, guardian in enumerate(guardians):
        suppliers[f"/subject/guardians/{n}/restricted"] = guardian.recorded_by
        suppliers[f"/subject/guardians/{n}/accompanying"] = guardian.recorded_by
    if exchange.break_glass_justification is not None:
        suppliers["/break_glass/justification"] = exchange.initiator_id
    return suppliers


def decide_again(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    actor: Actor,
    now: datetime,
) -> Ruling[Decision]:
    """The decision at this moment; if it no longer allows the exchange, the exchange ends
    (on the record, committed) and the caller gets 403 with the reasons."""
    ruling = decide(work, session, exchange, child, now)
    if not ruling.answer.allow:
        stop(work, session, exchange, child, ruling, actor, now)
        session.commit()
        raise denied(ruling.answer)
    return ruling


def follow_obligations(session: Session, exchange: Exchange, decision: Decision) -> None:
    """Do what the decision obliges: ask the named holders for consent, or inform the parents."""
    for obligation in decision.obligations:
        if obligation.type == "await_consent" and obligation.holders:
            consents.propose(
                session,
                child_id=exchange.child_id,
                purpose=exchange.purpose,
                grantee_id=exchange.recipient_id,
                exchange_id=exchange.id,
                holders=obligation.holders,
                fields=decision.fields,
                level=(decision.level or Level.SIGNAL).value,
            )
        elif obligation.type == "inform_parents" and obligation.parties:
            consents.inform(
                session,
                child_id=exchange.child_id,
                exchange_id=exchange.id,
                holders=obligation.parties,
            )


def denied(decision: Decision) -> ForbiddenError:
    return ForbiddenError(
        " ".join(decision.reasons) or "The policy no longer allows this exchange.",
        problem=DENIED_BY_POLICY,
        reasons=decision.reasons,
    )


def _placement_confirmed(work: Exchanges, session: Session, exchange: Exchange) -> bool:
    """Has the recipient offered this child a place (only asked where the purpose stages
    its disclosure)?"""
    if not work.purpose(exchange.purpose).get("full_requires_placement"):
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Exchange.child_id == exchange.child_id,
                    Exchange.purpose == exchange.purpose,
                    Exchange.source_id == exchange.source_id,
                    Exchange.recipient_id == exchange.recipient_id,
                    Exchange.placement_confirmed_at.is_not(None),
                )
            )
        )
    )
