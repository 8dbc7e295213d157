"""Subscriptions, the outbox of messages to send, and every attempt to send one.

A ``WebhookMessage`` is written in the same transaction as the action it announces
(:mod:`gateway.webhooks.events`), so there is no message without its action and no action without
its message; a worker sends it later (:mod:`gateway.webhooks.delivery`). Its id is the
``webhook-id`` of every attempt, so a receiver can drop a repeat. Bodies are thin: an event type,
ids and a time, never a field value or a BSN.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, str_enum, utcnow


class MessageStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt of the retry schedule failed


def message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(default=False)
    # The signing secret, sealed under the payload master keys (gateway.exchanges.sealing): the
    # gateway must sign with it, so it is kept recoverable, never in clear.
    secret_key_id: Mapped[str] = mapped_column(String(64))
    secret_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookMessage(Base):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=message_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, byte for byte, at every attempt
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker's lease: while it lies in the future, no other worker sends this message.
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    message_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(default=None)  # None: no HTTP answer
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    duration_ms: Mapped[int] = mapped_column(default=0)
