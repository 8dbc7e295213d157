"""Consent statements and the notices parents see in the portal.

One ``Consent`` row is one holder's answer for one purpose and one recipient organisation:
a parent with gezag, or the child itself (holder ``"child"``), agrees to a set of fields at a
level for a period. The policy decides with these rows as ``consents`` facts; a purpose that
needs several holders needs a row from each. The rows of one exchange together are one consent
record in the sense of FHIR R5 Consent (``gateway/consent/fhir.py``): subject, grantors,
grantee, purpose, provision fields and level, period, status, provenance and revocation.

A ``Notice`` tells a holder that something waits (a consent request) or happened (data shared
on a legal basis). It carries ids and a kind, never a payload value, and is never e-mailed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, str_enum, utcnow
from gateway.translations import _

CHILD_HOLDER = "child"


class ConsentStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class NoticeKind(StrEnum):
    CONSENT_REQUESTED = "consent_requested"
    INFORMED = "informed"


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed', 'active', 'declined', 'revoked', 'expired')", name="status"
        ),
        CheckConstraint("level IN ('signal', 'summary', 'full')", name="level"),
        CheckConstraint(
            "grantee_id IS NOT NULL OR scope_role IS NOT NULL", name="grantee_or_scope"
        ),
        Index("ix_consents_lookup", "child_id", "purpose", "grantee_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    holder: Mapped[str] = mapped_column(String(36))  # a guardian id, or "child"
    purpose: Mapped[str] = mapped_column(String(64))
    # One organisation, or (a consent given ahead of time) every organisation of ``scope_role``
    # located in one of ``scope_gemeenten``.
    grantee_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    scope_role: Mapped[str | None] = mapped_column(String(16), default=None)
    scope_gemeenten: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    scope_label: Mapped[str | None] = mapped_column(String(200), default=None)  # as shown
    # Given ahead of time, not in answer to one exchange's request (like Mitz).
    standing: Mapped[bool] = mapped_column(default=False)
    exchange_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[ConsentStatus] = mapped_column(
        str_enum(ConsentStatus), default=ConsentStatus.PROPOSED
    )
    valid_from: Mapped[datetime | None] = mapped_column(default=None)
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Provenance: through which login the answer and the revocation came (a pseudonymous login
    # reference, never a name or BSN), and which explanation text the holder was shown.
    answered_via: Mapped[str | None] = mapped_column(String(128), default=None)
    explanation_version: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_via: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def grantee_text(self, names: dict[str, str]) -> str:
        """Who it is given to, in the words the holder saw."""
        if self.grantee_id is not None:
            return names.get(self.grantee_id, _("een organisatie"))
        return self.scope_label or _("een groep organisaties")


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (CheckConstraint("kind IN ('consent_requested', 'informed')", name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    holder: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, length=24))
    exchange_id: Mapped[str] = mapped_column(String(36))
    consent_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
