"""Organisations and the public keys their API clients sign assertions with."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, str_enum, utcnow
from gateway.organisations.identifiers import OrganisationRole


class OrganisationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        UniqueConstraint("role", "identifier"),
        CheckConstraint(
            "role IN ('opvang', 'school', 'swv', 'leerplicht', 'gateway')", name="role"
        ),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
    )

    # The id doubles as the OAuth2 client_id of the organisation's API client.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    role: Mapped[OrganisationRole] = mapped_column(str_enum(OrganisationRole))
    name: Mapped[str] = mapped_column(String(200))
    identifier: Mapped[str] = mapped_column(String(16))
    status: Mapped[OrganisationStatus] = mapped_column(
        str_enum(OrganisationStatus), default=OrganisationStatus.ACTIVE
    )
    # Only for client_secret_basic, which the gateway accepts in dev alone (scrypt hash).
    client_secret_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    keys: Mapped[list[OrganisationKey]] = relationship(
        back_populates="organisation",
        order_by="OrganisationKey.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def is_active(self) -> bool:
        return self.status == OrganisationStatus.ACTIVE


class OrganisationKey(Base):
    """A public JWK (RFC 7517) registered for ``private_key_jwt`` client authentication."""

    __tablename__ = "organisation_keys"
    __table_args__ = (UniqueConstraint("organisation_id", "kid"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    kid: Mapped[str] = mapped_column(String(128))
    jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="keys")
