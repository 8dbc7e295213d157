"""Whom a logged-in citizen may act for, and what they see about it.

A parent reaches a child through a guardian row that carries their pseudonym and is not
restricted (DOMAIN.md rule 4: a restricted parent is never shown anything). A child of 12 or
older reaches their own record. From 16 a child decides alone: the parents still see that the
child is theirs, but no longer its requests, consents or history.

Anything outside the household is "not found", whatever id is tried.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from gateway.children.models import Child, Guardian
from gateway.consent.models import CHILD_HOLDER, Consent, ConsentStatus
from gateway.errors import NotFoundError
from gateway.exchanges.models import Exchange
from gateway.organisations.service import organisation_names
from gateway.policy.bundle import PolicyBundle
from gateway.translations import N_, _

CO_CONSENT_AGE = 12
DECIDES_ALONE_AGE = 16


@dataclass(frozen=True)
class Member:
    """One child the person acts for, and as whom (a guardian id, or ``"child"``)."""

    child: Child
    holder: str
    relation: str  # moeder, vader, voogd, ... or "uzelf"
    age: int
    gezag: bool = False  # parental authority; for the child itself, whether it is 16 or older

    @property
    def is_self(self) -> bool:
        return self.holder == CHILD_HOLDER

    @property
    def decides_alone(self) -> bool:
        return not self.is_self and self.age >= DECIDES_ALONE_AGE

    @property
    def may_read_content(self) -> bool:
        """Inzage (AVG art. 15) in what is held: a parent with gezag of a child under 16, or
        the child itself from 16."""
        return self.gezag and not self.decides_alone


@dataclass(frozen=True)
class Household:
    members: tuple[Member, ...]

    @property
    def acting(self) -> tuple[Member, ...]:
        """The members whose requests and history this person sees."""
        return tuple(m for m in self.members if not m.decides_alone)

    def member(self, child_id: str) -> Member:
        for member in self.acting:
            if member.child.id == child_id:
                return member
        raise NotFoundError(N_("Dit kind hoort niet bij uw gegevens."))

    def pairs(self) -> list[tuple[str, str]]:
        return [(m.child.id, m.holder) for m in self.acting]


def household(session: Session, person_pseudonym: str, today: date) -> Household:
    members = []
    rows = session.execute(
        select(Guardian, Child)
        .join(Child, Child.id == Guardian.child_id)
        .where(Guardian.person_pseudonym == person_pseudonym, Guardian.restricted.is_(False))
        .order_by(Child.birth_date)
    )
    for guardian, child in rows:
        age = child.age_on(today)
        members.append(Member(child, guardian.id, guardian.relation, age, guardian.gezag))
    itself = session.scalar(select(Child).where(Child.pseudonym == person_pseudonym))
    if itself is not None and itself.age_on(today) >= CO_CONSENT_AGE:
        age = itself.age_on(today)
        members.insert(0, Member(itself, CHILD_HOLDER, "uzelf", age, age >= DECIDES_ALONE_AGE))
    return Household(tuple(members))


def consents_of(session: Session, household: Household, *statuses: ConsentStatus) -> list[Consent]:
    pairs = household.pairs()
    if not pairs:
        return []
    return list(
        session.scalars(
            select(Consent)
            .where(
                tuple_(Consent.child_id, Consent.holder).in_(pairs),
                Consent.status.in_(statuses),
            )
            .order_by(Consent.created_at.desc(), Consent.id)
        )
    )


def consent_of(session: Session, household: Household, consent_id: str) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or (consent.child_id, consent.holder) not in household.pairs():
        raise NotFoundError(N_("Dit verzoek bestaat niet of is niet voor u."))
    return consent


@dataclass(frozen=True)
class Explanation:
    """What a holder is shown before answering, in plain words and their language; its version
    is a hash of exactly this text, stored with the answer."""

    purpose_title: str
    purpose_text: str
    requester: str
    source: str
    fields: tuple[tuple[str, str], ...]  # (name, label)
    basis: str
    retention_days: int
    reason: str | None

    @property
    def version(self) -> str:
        parts = [
            self.purpose_title,
            self.purpose_text,
            self.requester,
            self.source,
            *(f"{n}={label}" for n, label in self.fields),
            self.basis,
            str(self.retention_days),
            self.reason or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


BASIS_TEXT = {
    "consent": N_("Alleen met uw toestemming."),
    "legal_duty": N_(
        "De wet verplicht dit. Het gebeurt zonder uw toestemming, maar u krijgt er bericht over."
    ),
    "public_task": N_("Dit is een publieke taak van de organisatie. U krijgt er bericht over."),
    "break_glass": N_(
        "Het kind was acuut in gevaar. Iemand die op privacy let, kijkt daarna of dit terecht was."
    ),
}
# How a person can relate to a child (a guardian's ``relation``), for the catalogues.
RELATIONS = (N_("moeder"), N_("vader"), N_("voogd"), N_("pleegouder"), N_("verzorger"), N_("kind"))


def field_label(spec: dict[str, Any], name: str) -> str:
    """The label the purpose register gives a field, in the page's language (its name when it
    has none)."""
    return _(str(spec.get("fields", {}).get(name, {}).get("label", name)))


def explain(session: Session, bundle: PolicyBundle, consent: Consent) -> Explanation:
    spec = bundle.purpose(consent.purpose) or {}
    exchange = session.get(Exchange, consent.exchange_id) if consent.exchange_id else None
    source_id = exchange.source_id if exchange else None
    names = organisation_names(
        session, [i for i in (consent.grantee_id, source_id) if i is not None]
    )
    basis = (exchange.decision or {}).get("basis") if exchange else None
    return Explanation(
        purpose_title=_(str(spec.get("title", consent.purpose))),
        purpose_text=_(str(spec.get("description", ""))),
        requester=consent.grantee_text(names),
        source=names.get(source_id or "", _("een organisatie")),
        fields=tuple((name, field_label(spec, name)) for name in consent.fields),
        basis=_(BASIS_TEXT.get(str(basis or "consent"), BASIS_TEXT["consent"])),
        retention_days=int(spec.get("retention_days", 0)),
        reason=exchange.reason if exchange else None,
    )
