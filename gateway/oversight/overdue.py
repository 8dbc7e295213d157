"""Telling privacy officers that a break-glass review is late (issue 36).

Each maintenance run finds the unreviewed break-glass exchanges whose review deadline has
passed and that nobody was told about yet. The officers who left a work address in the portal
and work for either party, or for the gateway itself, get one notice each per run; each
exchange is marked so that it is told once. The notice names no child, no organisation and no
exchange: only that a review is late, with a link to the queue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.exchanges.models import Exchange
from gateway.notifications.models import REVIEW_OVERDUE, ContactAddress, MailMessage
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.oversight.service import unreviewed


def notify_overdue_reviews(session: Session, now: datetime) -> int:
    """Queue the notices for reviews that fell overdue since the last run; returns how many
    exchanges were newly overdue. The caller commits."""
    late = list(
        session.scalars(
            unreviewed(None).where(
                Exchange.break_glass_review_due < now,
                Exchange.break_glass_overdue_notice_at.is_(None),
            )
        )
    )
    if not late:
        return 0
    organisations = {o for e in late for o in (e.source_id, e.recipient_id)}
    organisations.update(
        session.scalars(
            select(Organisation.id).where(Organisation.role == OrganisationRole.GATEWAY)
        )
    )
    officers = session.scalars(
        select(ContactAddress.person_pseudonym)
        .where(ContactAddress.organisation_id.in_(organisations))
        .order_by(ContactAddress.person_pseudonym)
    )
    for officer in officers:
        session.add(MailMessage(person_pseudonym=officer, kind=REVIEW_OVERDUE, next_attempt_at=now))
    for exchange in late:
        exchange.break_glass_overdue_notice_at = now
    return len(late)
