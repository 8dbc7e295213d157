"""Consent rows as the policy sees them, and the holder's answers: grant, decline, revoke.

These functions change consent rows and notices only; what an answer means for an exchange
(waiting on, delivering, shredding) is decided by the exchange flow that calls them, in the same
transaction, so a consent and its consequences commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.consent.models import Consent, ConsentStatus, Notice, NoticeKind
from gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.policy.decision import ConsentFact, ConsentScope, Level
from gateway.translations import N_, _

LEVEL_RANK = {"signal": 0, "summary": 1, "full": 2}


def relevant(
    session: Session, *, exchange_id: str, relied: Iterable[str], child_id: str, purpose: str
) -> list[Consent]:
    """The consent rows an exchange is decided with: those asked for it, those it relied on,
    and the child's consents for the purpose given ahead of time (the policy decides whether a
    standing consent's scope covers the recipient).

    Each exchange asks its own consent, so an answer covers exactly the fields, level and
    recipient that were shown to the holder when they gave it."""
    relied = list(relied)
    return list(
        session.scalars(
            select(Consent)
            .where(
                or_(
                    Consent.exchange_id == exchange_id,
                    Consent.id.in_(relied),
                    and_(
                        Consent.standing.is_(True),
                        Consent.child_id == child_id,
                        Consent.purpose == purpose,
                    ),
                )
            )
            .order_by(Consent.created_at, Consent.id)
        )
    )


def as_facts(consents: Iterable[Consent]) -> list[ConsentFact]:
    """The answered rows as policy input (a proposal is nobody's answer yet)."""
    return [
        ConsentFact(
            id=c.id,
            purpose=c.purpose,
            grantee=c.grantee_id,
            scope=(
                ConsentScope(role=OrganisationRole(c.scope_role), gemeenten=c.scope_gemeenten)
                if c.scope_role and c.scope_gemeenten
                else None
            ),
            standing=c.standing,
            grantors=[c.holder],
            fields=list(c.fields),
            level=Level(c.level),
            status=c.status.value,
            valid_from=c.valid_from,
            valid_until=c.valid_until,
        )
        for c in consents
        if c.status != ConsentStatus.PROPOSED and c.valid_from and c.valid_until
    ]


def propose(
    session: Session,
    *,
    child_id: str,
    purpose: str,
    grantee_id: str,
    exchange_id: str,
    holders: Iterable[str],
    fields: list[str],
    level: str,
) -> list[Consent]:
    """Ask each holder who has not been asked for this exchange yet; each gets a notice."""
    asked = set(session.scalars(select(Consent.holder).where(Consent.exchange_id == exchange_id)))
    made = []
    for holder in sorted(set(holders) - asked):
        consent = Consent(
            child_id=child_id,
            holder=holder,
            purpose=purpose,
            grantee_id=grantee_id,
            exchange_id=exchange_id,
            fields=sorted(fields),
            level=level,
        )
        session.add(consent)
        session.flush()
        session.add(
            Notice(
                child_id=child_id,
                holder=holder,
                kind=NoticeKind.CONSENT_REQUESTED,
                exchange_id=exchange_id,
                consent_id=consent.id,
            )
        )
        made.append(consent)
    return made


def inform(session: Session, *, child_id: str, exchange_id: str, holders: Iterable[str]) -> None:
    """Tell holders that data was shared without their consent being needed (a legal basis)."""
    for holder in sorted(set(holders)):
        session.add(
            Notice(
                child_id=child_id, holder=holder, kind=NoticeKind.INFORMED, exchange_id=exchange_id
            )
        )


def get(session: Session, consent_id: str, holder: str) -> Consent:
    """A holder's own consent row; any other id is simply not found."""
    consent = session.get(Consent, consent_id)
    if consent is None or consent.holder != holder:
        raise NotFoundError("There is no consent with this id for you.")
    return consent


@dataclass(frozen=True)
class Provenance:
    """How an answer was given: through which login (a pseudonymous reference) and after
    which version of the explanation text."""

    login_ref: str | None = None
    explanation_version: str | None = None


def answer(
    consent: Consent,
    *,
    grant: bool,
    fields: list[str] | None,
    now: datetime,
    valid_until: datetime,
    provenance: Provenance = Provenance(),
) -> None:
    """Grant (for the proposed fields, or a subset of them, until ``valid_until``) or decline
    a proposed consent."""
    if consent.status != ConsentStatus.PROPOSED:
        raise ConflictError(
            f"This consent was already answered ({consent.status.value}).",
            consent_status=consent.status.value,
        )
    if grant:
        chosen = consent.fields if fields is None else sorted(set(fields))
        extra = sorted(set(chosen) - set(consent.fields))
        if extra or not chosen:
            raise ValidationFailedError(
                "Choose one or more of the fields that were asked for.",
                errors=[{"pointer": "#/fields", "detail": f"not asked for: {extra}"}],
            )
        consent.fields = chosen
        consent.status = ConsentStatus.ACTIVE
        if valid_until <= now:
            raise ValidationFailedError(
                "A consent must be valid for some time from now.",
                errors=[{"pointer": "#/valid_until", "detail": "must lie in the future"}],
            )
        consent.valid_until = valid_until
    else:
        consent.status = ConsentStatus.DECLINED
        consent.valid_until = now
    consent.valid_from = now
    consent.answered_at = now
    consent.answered_via = provenance.login_ref
    consent.explanation_version = provenance.explanation_version


@dataclass(frozen=True)
class StandingConsent:
    """What a holder agrees to ahead of time."""

    purpose: str
    fields: list[str]
    valid_until: datetime
    grantee_id: str | None = None  # one organisation, or:
    scope_role: str | None = None  # every organisation of this role ...
    scope_gemeenten: list[str] | None = None  # ... located in one of these gemeenten
    scope_label: str | None = None  # the words the holder chose it by


def standing_level(spec: dict[str, Any], role: str) -> str | None:
    """The level a consent ahead of time gives: the most the purpose's consent route to
    ``role`` allows; None when there is no such route."""
    for route in spec.get("routes", []):
        if route.get("to") == role and route.get("basis") == "consent":
            return str(route["max_level"])
    return None


def give_standing(
    session: Session,
    child_id: str,
    holder: str,
    standing: StandingConsent,
    spec: dict[str, Any],
    *,
    now: datetime,
    provenance: Provenance,
) -> Consent:
    """Keep a consent given ahead of time, after checking it against the purpose register.
    Its errors are in Dutch: the parents' portal is where such a consent is given."""
    maximum = int(spec.get("standing_consent_max_days", 0))
    if maximum <= 0:
        raise ValidationFailedError(
            N_("Voor dit doel kunt u geen toestemming vooraf geven."),
            errors=[{"pointer": "#/purpose", "detail": "no consent ahead of time"}],
        )
    role = standing.scope_role
    if standing.grantee_id is not None:
        grantee = session.get(Organisation, standing.grantee_id)
        role = None if grantee is None else grantee.role.value
    level = None if role is None else standing_level(spec, role)
    if level is None or (standing.grantee_id is None) == (not standing.scope_gemeenten):
        raise ValidationFailedError(
            N_(
                "Kies één organisatie die voor dit doel gegevens mag krijgen. Of kies een soort "
                "organisatie in een regio."
            ),
            errors=[{"pointer": "#/grantee", "detail": "not a recipient of this purpose"}],
        )
    allowed = {
        name
        for name, field in spec.get("fields", {}).items()
        if LEVEL_RANK[field.get("level", "full")] <= LEVEL_RANK[level]
    }
    chosen = sorted(set(standing.fields))
    if not chosen or not set(chosen) <= allowed:
        raise ValidationFailedError(
            N_("Kies een of meer van de gegevens die voor dit doel gedeeld mogen worden."),
            errors=[
                {"pointer": "#/fields", "detail": f"not allowed: {sorted(set(chosen) - allowed)}"}
            ],
        )
    last_day = (now + timedelta(days=maximum)).date()  # through the end of that day
    if not (now < standing.valid_until and standing.valid_until.date() <= last_day):
        raise ValidationFailedError(
            _("Een toestemming vooraf geldt ten hoogste %(days)s dagen.", days=maximum),
            errors=[{"pointer": "#/valid_until", "detail": f"within {maximum} days from now"}],
        )
    consent = Consent(
        child_id=child_id,
        holder=holder,
        purpose=standing.purpose,
        grantee_id=standing.grantee_id,
        scope_role=None if standing.grantee_id else standing.scope_role,
        scope_gemeenten=None
        if standing.grantee_id
        else sorted(set(standing.scope_gemeenten or [])),
        scope_label=standing.scope_label,
        standing=True,
        fields=chosen,
        level=level,
        status=ConsentStatus.ACTIVE,
        valid_from=now,
        valid_until=standing.valid_until,
        answered_at=now,
        answered_via=provenance.login_ref,
        explanation_version=provenance.explanation_version,
    )
    session.add(consent)
    session.flush()
    return consent


def revoke(consent: Consent, *, now: datetime, via: str | None = None) -> None:
    if consent.status != ConsentStatus.ACTIVE:
        raise ConflictError(
            f"Only an active consent can be revoked; this one is {consent.status.value}.",
            consent_status=consent.status.value,
        )
    consent.status = ConsentStatus.REVOKED
    consent.revoked_at = now
    consent.revoked_via = via


def due_to_expire(session: Session, now: datetime) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent).where(
                Consent.status == ConsentStatus.ACTIVE, Consent.valid_until <= now
            )
        )
    )
