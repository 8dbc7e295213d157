"""Keeping, reading and deleting a person's address; queueing a notice when one is due.

A notice (``gateway.consent.models.Notice``) is queued as mail in the transaction that creates it:
just before the commit (:mod:`gateway.transactions`) one message per person and kind is queued for
those who left an address. Rolled back, nothing is queued.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import record
from gateway.children.models import Child, Guardian
from gateway.consent.models import CHILD_HOLDER, Notice
from gateway.errors import ValidationFailedError
from gateway.exchanges.sealing import MasterKeyring, Sealed, WrappedKey, seal, unseal
from gateway.notifications.models import ContactAddress, MailMessage, PreferredLanguage
from gateway.transactions import NEW, Seen, on_commit

# Deliberately plain: one @, a dot in the domain, no spaces; the mail server has the last word.
ADDRESS = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$")


def _context(person_pseudonym: str) -> bytes:
    return f"contact:{person_pseudonym}".encode()


def officer_key(login_ref: str) -> str:
    """Where a privacy officer's work address is kept (officers have no BSN pseudonym)."""
    return f"officer:{login_ref}"


def set_address(
    session: Session,
    keyring: MasterKeyring,
    person_pseudonym: str,
    address: str,
    actor: Actor,
    organisation_id: str | None = None,
) -> None:
    """Keep a person's address sealed (an officer's with their ``organisation_id``); commits."""
    address = address.strip()
    if len(address) > 254 or not ADDRESS.match(address):
        raise ValidationFailedError(
            "Dit is geen e-mailadres.",
            errors=[{"pointer": "#/email", "detail": "not an e-mail address"}],
        )
    sealed = seal(keyring, address.encode(), _context(person_pseudonym))
    held = session.get(ContactAddress, person_pseudonym)
    if held is None:
        held = ContactAddress(person_pseudonym=person_pseudonym)
        session.add(held)
    held.key_id = sealed.wrapped_key.key_id
    held.wrapped = sealed.wrapped_key.blob
    held.sealed = sealed.ciphertext
    held.organisation_id = organisation_id
    held.created_at = datetime.now(UTC)
    record(session, Entry(action="contact.set", actor=actor, outcome="success"))
    session.commit()


def address_of(session: Session, keyring: MasterKeyring, person_pseudonym: str) -> str | None:
    held = session.get(ContactAddress, person_pseudonym)
    if held is None:
        return None
    sealed = Sealed(WrappedKey(held.key_id, held.wrapped), held.sealed)
    return unseal(keyring, sealed, _context(person_pseudonym)).decode()


def delete_address(session: Session, person_pseudonym: str, actor: Actor) -> bool:
    held = session.get(ContactAddress, person_pseudonym)
    if held is None:
        return False
    session.delete(held)
    for waiting in session.scalars(
        select(MailMessage).where(MailMessage.person_pseudonym == person_pseudonym)
    ):
        session.delete(waiting)
    record(session, Entry(action="contact.delete", actor=actor, outcome="success"))
    session.commit()
    return True


def language_of(session: Session, person_pseudonym: str) -> str | None:
    """The language the person chose in the portal, if they chose one."""
    return session.scalar(
        select(PreferredLanguage.language).where(
            PreferredLanguage.person_pseudonym == person_pseudonym
        )
    )


def set_language(session: Session, person_pseudonym: str, language: str) -> None:
    """Keep the person's choice of language. The caller commits."""
    held = session.get(PreferredLanguage, person_pseudonym)
    if held is None:
        session.add(PreferredLanguage(person_pseudonym=person_pseudonym, language=language))
    else:
        held.language = language
        held.updated_at = datetime.now(UTC)


def masked(address: str) -> str:
    """What the portal shows of a kept address: enough to recognise it."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}…@{domain}"


@on_commit(Notice)
def _queue(session: Session, seen: Seen) -> None:
    """One mail per person and kind for the new notices of those who left an address."""
    wanted: set[tuple[str, str]] = set()
    for notice, before in seen:
        person = _person_of(session, notice) if before is NEW else None
        if person is not None:
            wanted.add((person, str(notice.kind)))
    if not wanted:
        return
    with_address = set(
        session.scalars(
            select(ContactAddress.person_pseudonym).where(
                ContactAddress.person_pseudonym.in_({p for p, _ in wanted})
            )
        )
    )
    now = datetime.now(UTC)
    for person, kind in sorted(wanted):
        if person in with_address:
            session.add(MailMessage(person_pseudonym=person, kind=kind, next_attempt_at=now))


def _person_of(session: Session, notice: Notice) -> str | None:
    if notice.holder == CHILD_HOLDER:
        child = session.get(Child, notice.child_id)
        return None if child is None else child.pseudonym
    guardian = session.get(Guardian, notice.holder)
    if guardian is None or guardian.restricted:
        return None
    return guardian.person_pseudonym
