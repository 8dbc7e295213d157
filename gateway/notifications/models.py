"""A person's e-mail address for notices, and the outbox of notices to send.

The address is the only thing kept about a person apart from their pseudonym, it is sealed under
the payload master keys (it is personal data), it is used for nothing but these notices, and the
person deletes it in the portal whenever they like. A ``MailMessage`` says only which kind of
notice is due for which pseudonym; the address is looked up when it is sent, so a deleted
address means no mail.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, str_enum, utcnow

REVIEW_OVERDUE = "review_overdue"  # the mail kind for privacy officers (gateway.oversight)


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ContactAddress(Base):
    """A parent's address, under their pseudonym; or a privacy officer's work address, under
    ``officer:<login_ref>`` with their organisation (for overdue-review notices)."""

    __tablename__ = "contact_addresses"

    person_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    key_id: Mapped[str] = mapped_column(String(64))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailMessage(Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("kind IN ('consent_requested', 'informed', 'review_overdue')", name="kind"),
        Index("ix_mail_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    person_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[MailStatus] = mapped_column(str_enum(MailStatus), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PreferredLanguage(Base):
    """The language a person chose in the portal: their next login starts in it, and their
    notices are written in it. Dutch for whoever never chose."""

    __tablename__ = "preferred_languages"

    person_pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
