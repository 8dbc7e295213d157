"""Organisations and the public keys their API clients sign assertions with."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
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
    # CBS gemeentecode where the organisation is located (a leerplicht office: its gemeente).
    # It places the organisation's exchanges in an SWV region for the statistics.
    gemeente_code: Mapped[str | None] = mapped_column(String(6), default=None)
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
        lazy="select",
    )

    certificates: Mapped[list[OrganisationCertificate]] = relationship(
        order_by="OrganisationCertificate.id",
        cascade="all, delete-orphan",
        lazy="select",
    )

    region: Mapped[list[RegionGemeente]] = relationship(
        order_by="RegionGemeente.gemeente_code",
        cascade="all, delete-orphan",
        lazy="select",
    )

    @property
    def is_active(self) -> bool:
        return self.status == OrganisationStatus.ACTIVE

    @property
    def region_codes(self) -> list[str]:
        """The gemeenten an SWV serves; none for any other role (not read from the database)."""
        if self.role != OrganisationRole.SWV:
            return []
        return [r.gemeente_code for r in self.region]


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


class OrganisationCertificate(Base):
    """A client certificate for mutual TLS (RFC 8705). One from a PKI (``tls_client_auth``)
    identifies the organisation by the OIN in its subject's serialNumber, so a renewed
    certificate under the same OIN works too; a self-signed one
    (``self_signed_tls_client_auth``) only by its own thumbprint."""

    __tablename__ = "organisation_certificates"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    thumbprint: Mapped[str] = mapped_column(String(43), unique=True)  # x5t#S256
    subject_serial: Mapped[str | None] = mapped_column(String(64), index=True)  # the OIN
    self_signed: Mapped[bool] = mapped_column()
    pem: Mapped[str] = mapped_column(Text)
    not_after: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionGemeente(Base):
    """A gemeente in the region of a samenwerkingsverband (SWV). PO and VO regions overlap, so
    a gemeente belongs to one region of each sector."""

    __tablename__ = "swv_region_gemeenten"

    swv_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    gemeente_code: Mapped[str] = mapped_column(String(6), primary_key=True, index=True)
