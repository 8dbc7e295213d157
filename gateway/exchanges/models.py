"""An exchange, its stored decision, and its payload: ciphertext and a wrapped key, or nothing.

``payloads`` never holds a readable value: ``ciphertext`` is AES-256-GCM under the exchange's
own data key, and ``wrapped_key`` is that data key wrapped by a master key (``key_id``). Shredding
sets both to NULL; the row stays as the record that something was delivered and destroyed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, str_enum, utcnow


class ExchangeStatus(StrEnum):
    DENIED = "denied"
    AWAITING_CONSENT = "awaiting_consent"
    AWAITING_DELIVERY = "awaiting_delivery"
    DELIVERED = "delivered"
    FETCHED = "fetched"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"


class Direction(StrEnum):
    OFFER = "offer"  # the source pushes (warme overdracht)
    REQUEST = "request"  # the recipient asks


class Exchange(Base):
    __tablename__ = "exchanges"
    __table_args__ = (
        CheckConstraint(
            "status IN ('denied', 'awaiting_consent', 'awaiting_delivery', 'delivered', "
            "'fetched', 'expired', 'revoked', 'withdrawn')",
            name="status",
        ),
        CheckConstraint("direction IN ('offer', 'request')", name="direction"),
        UniqueConstraint("initiator_id", "idempotency_key"),
        Index("ix_exchanges_source_status", "source_id", "status"),
        Index("ix_exchanges_recipient_status", "recipient_id", "status"),
        Index("ix_exchanges_child_purpose", "child_id", "purpose"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    purpose: Mapped[str] = mapped_column(String(64))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    initiator_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    source_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"))
    requested_fields: Mapped[list[str]] = mapped_column(JSON)
    requested_level: Mapped[str | None] = mapped_column(String(16), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    break_glass_justification: Mapped[str | None] = mapped_column(Text, default=None)
    # When a privacy officer's review of a break-glass exchange is due (working days).
    break_glass_review_due: Mapped[datetime | None] = mapped_column(default=None)
    # When the officers were told that its review is late (maintenance tells them once).
    break_glass_overdue_notice_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[ExchangeStatus] = mapped_column(str_enum(ExchangeStatus, length=24))
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The latest decision document (allow, basis, level, fields, stripped, reasons, ...).
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(80))
    # Consent rows the exchange was allowed on; revoking one of them stops the exchange.
    relied_consent_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    placement_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    fetched_at: Mapped[datetime | None] = mapped_column(default=None)

    payload: Mapped[Payload | None] = relationship(lazy="selectin", uselist=False)


class Payload(Base):
    __tablename__ = "payloads"

    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(64), default=None)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    fields: Mapped[list[str]] = mapped_column(JSON)  # names of what is sealed, never values
    stripped: Mapped[list[str]] = mapped_column(JSON)  # names removed before sealing
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shredded_at: Mapped[datetime | None] = mapped_column(default=None)
    shred_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    # The parents' reactions (zienswijze) where the register allows them: JSON sealed under the
    # payload's own data key, so shredding the payload shreds them too.
    reactions: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

    @property
    def shredded(self) -> bool:
        return self.wrapped_key is None
