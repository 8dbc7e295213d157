"""Identifying children by BSN and birth date, their safety code, and their guardians.

A safety-code change and a change of guardians are decisions (``policies/kindkoppeling/
safety.rego`` and ``guardians.rego``) and audited actions: the change, its entry and the kept
decision commit together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import child_reference
from gateway.children.bsn import InvalidBSNError, pseudonym, validate_bsn
from gateway.children.models import Child, Guardian
from gateway.decisions import recording
from gateway.errors import FORBIDDEN, ForbiddenError, ValidationFailedError
from gateway.organisations.models import Organisation
from gateway.policy.decision import (
    GuardiansChange,
    Party,
    Permission,
    Ruling,
    SafetyChange,
    SafetyCode,
)
from gateway.policy.service import PolicyDecider


def identify(session: Session, bsn: str, birth_date: date, key: bytes, *, at: str = "#") -> Child:
    """The child with this BSN, registered on first sight; the birth date must agree.

    ``at`` is the JSON pointer of the object holding ``bsn`` and ``birth_date`` in the request,
    so errors name the fields where the caller put them."""
    name, child = _known(session, bsn, birth_date, key, at)
    if child is None:
        child = Child(pseudonym=name, birth_date=birth_date)
        session.add(child)
        try:
            session.flush()
        except IntegrityError:  # registered by a concurrent request a moment ago
            session.rollback()
            child = session.scalars(select(Child).where(Child.pseudonym == name)).one()
        _check_birth_date(child, birth_date, at)
    return child


def find(session: Session, bsn: str, birth_date: date, key: bytes, *, at: str = "#") -> Child:
    """The child with this BSN as the gateway knows it, without registering anything: a child
    it has never seen comes back as a record outside the session, with only its birth date."""
    name, child = _known(session, bsn, birth_date, key, at)
    if child is None:
        return Child(id=str(uuid.uuid4()), pseudonym=name, birth_date=birth_date)
    return child


def _known(
    session: Session, bsn: str, birth_date: date, key: bytes, at: str
) -> tuple[str, Child | None]:
    name = bsn_pseudonym(bsn, key, at=f"{at}/bsn")
    if birth_date > datetime.now(UTC).date():
        raise ValidationFailedError(
            "The birth date lies in the future.",
            errors=[{"pointer": f"{at}/birth_date", "detail": "must not be in the future"}],
        )
    child = session.scalar(select(Child).where(Child.pseudonym == name))
    if child is not None:
        _check_birth_date(child, birth_date, at)
    return name, child


def _check_birth_date(child: Child, birth_date: date, at: str) -> None:
    if child.birth_date != birth_date:
        # Says that they differ, never what is on record.
        raise ValidationFailedError(
            "The birth date does not match the child with this BSN.",
            errors=[{"pointer": f"{at}/birth_date", "detail": "does not match our records"}],
        )


def change_safety_code(
    session: Session,
    child: Child,
    new_code: SafetyCode,
    *,
    organisation: Organisation,
    actor: Actor,
    decider: PolicyDecider,
) -> Child:
    ruling = decider.decide_safety_change(
        SafetyChange(
            actor=Party(organisation_id=organisation.id, role=organisation.role),
            current_code=child.safety_code,
            set_by=child.safety_code_set_by,
            new_code=new_code,
        )
    )
    extra = {"from": child.safety_code or "none", "to": new_code.value}
    _record_permission(session, child, "safety.change", actor, decider, ruling, extra)
    child.safety_code = new_code
    child.safety_code_set_by = organisation.id
    child.safety_code_set_at = datetime.now(UTC)
    session.commit()
    return child


@dataclass(frozen=True)
class GuardianFacts:
    """What an organisation states about one parent or guardian; ``relation`` identifies it."""

    relation: str
    gezag: bool
    restricted: bool = False
    accompanying: bool = False
    person_pseudonym: str | None = None  # of the parent's own BSN, so their login finds this


def bsn_pseudonym(bsn: str, key: bytes, *, at: str) -> str:
    """The keyed pseudonym of a BSN (422 naming the JSON pointer ``at`` when it is not valid)."""
    try:
        return pseudonym(validate_bsn(bsn), key)
    except InvalidBSNError as exc:
        raise ValidationFailedError(
            "The BSN is not valid.", errors=[{"pointer": at, "detail": str(exc)}]
        ) from exc


def record_guardians(
    session: Session,
    child: Child,
    stated: list[GuardianFacts],
    *,
    organisation: Organisation,
    actor: Actor,
    decider: PolicyDecider,
) -> list[Guardian]:
    """Add or update the child's guardians by relation (decided and audited); none are removed,
    because consents and notices keep naming them."""
    current = {g.relation: g for g in guardians_of(session, child)}
    changes_restriction = any(
        s.restricted != (current[s.relation].restricted if s.relation in current else False)
        for s in stated
    )
    ruling = decider.decide_guardians_change(
        GuardiansChange(
            actor=Party(organisation_id=organisation.id, role=organisation.role),
            changes_restriction=changes_restriction,
        )
    )
    extra = {"guardians": str(len(stated)), "restriction_changed": str(changes_restriction)}
    _record_permission(session, child, "guardians.change", actor, decider, ruling, extra)
    for facts in stated:
        guardian = current.get(facts.relation)
        if guardian is None:
            guardian = Guardian(child_id=child.id, relation=facts.relation)
            session.add(guardian)
            current[facts.relation] = guardian
        guardian.gezag = facts.gezag
        guardian.restricted = facts.restricted
        guardian.accompanying = facts.accompanying
        if facts.person_pseudonym is not None:
            guardian.person_pseudonym = facts.person_pseudonym
        guardian.recorded_by = organisation.id
    session.commit()
    return sorted(current.values(), key=lambda g: g.relation)


def guardians_of(session: Session, child: Child) -> list[Guardian]:
    return list(
        session.scalars(
            select(Guardian).where(Guardian.child_id == child.id).order_by(Guardian.relation)
        )
    )


def _record_permission(
    session: Session,
    child: Child,
    action: str,
    actor: Actor,
    decider: PolicyDecider,
    ruling: Ruling[Permission],
    extra: dict[str, str],
) -> None:
    """Put a decided change on the record, with the decision kept beside its entry; a refusal
    is committed as such and raised as 403, so the caller only goes on to make the change when
    it is allowed."""
    decision = ruling.answer
    entry = Entry(
        action=action,
        actor=actor,
        outcome="allowed" if decision.allow else "denied",
        child_ref=child_reference(session, child),
        reasons=tuple(decision.reasons),
        policy_version=decision.policy_version,
        extra=extra,
    )
    recording.record_decision(session, decider.bundle, entry, ruling, child_id=child.id)
    if not decision.allow:
        session.commit()  # the refusal is on the record; nothing changed
        raise ForbiddenError(
            " ".join(decision.reasons), problem=FORBIDDEN, reasons=decision.reasons
        )
