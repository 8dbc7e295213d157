"""API shapes of the organisation registry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import (
    Organisation,
    OrganisationCertificate,
    OrganisationStatus,
)

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrganisationRole
    name: str = Field(
        min_length=2,
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        examples=["Basisschool De Regenboog"],
    )
    identifier: str = Field(
        pattern=NO_CONTROL_CHARACTERS,
        min_length=4,
        max_length=16,
        description="BRIN (school), LRK or KvK (opvang), PO/VO code (swv), GM code "
        "(leerplicht), KvK (gateway).",
        examples=["12AB"],
    )
    gemeente: str | None = Field(
        default=None,
        max_length=8,
        description="CBS gemeentecode where the organisation is located (GM0344). A leerplicht "
        "office is its gemeente; an SWV has a region instead.",
        examples=["GM0344"],
    )
    region: list[Annotated[str, Field(max_length=8)]] = Field(
        default_factory=list,
        max_length=100,
        description="SWV only: the gemeentecodes of its region. They place signals and "
        "exchanges in the region for the aggregate statistics.",
        examples=[["GM0344", "GM0307"]],
    )


class OrganisationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OrganisationStatus


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jwk: dict[str, Any] = Field(
        description="Public key as a JWK (RFC 7517): EC P-256 or RSA of 2048 bits or more.",
        examples=[{"kty": "EC", "crv": "P-256", "x": "…", "y": "…"}],
    )


class CertificateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(
        max_length=16_384,
        description="A client certificate in PEM for mutual TLS (RFC 8705). One a PKIoverheid "
        "CA issued (tls_client_auth) must chain to the gateway's client CA bundle and carry "
        "the organisation's OIN as the subject's serialNumber; a self-signed one "
        "(self_signed_tls_client_auth) is known by its thumbprint alone.",
        examples=["-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"],
    )


class CertificateOut(BaseModel):
    thumbprint: str = Field(description="x5t#S256: base64url SHA-256 of the DER certificate.")
    oin: str | None = Field(description="The subject's serialNumber (PKIoverheid: the OIN).")
    method: str = Field(examples=["tls_client_auth", "self_signed_tls_client_auth"])
    not_after: datetime
    created_at: datetime

    @classmethod
    def of(cls, certificate: OrganisationCertificate) -> CertificateOut:
        return cls(
            thumbprint=certificate.thumbprint,
            oin=certificate.subject_serial,
            method="self_signed_tls_client_auth" if certificate.self_signed else "tls_client_auth",
            not_after=certificate.not_after,
            created_at=certificate.created_at,
        )


class KeyOut(BaseModel):
    kid: str
    jwk: dict[str, Any]
    created_at: datetime


class OrganisationOut(BaseModel):
    id: str = Field(description="Also the organisation's OAuth2 client_id.")
    role: OrganisationRole
    name: str
    identifier: str
    status: OrganisationStatus
    gemeente: str | None
    region: list[str]
    keys: list[KeyOut]
    certificates: list[CertificateOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationOut:
        return cls(
            id=organisation.id,
            role=organisation.role,
            name=organisation.name,
            identifier=organisation.identifier,
            status=organisation.status,
            gemeente=organisation.gemeente_code,
            region=organisation.region_codes,
            keys=[KeyOut(kid=k.kid, jwk=k.jwk, created_at=k.created_at) for k in organisation.keys],
            certificates=[CertificateOut.of(c) for c in organisation.certificates],
            created_at=organisation.created_at,
            updated_at=organisation.updated_at,
        )


class OrganisationList(BaseModel):
    items: list[OrganisationOut]
    total: int
