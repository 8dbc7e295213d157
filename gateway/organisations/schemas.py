"""API shapes of the organisation registry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation, OrganisationStatus

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
            created_at=organisation.created_at,
            updated_at=organisation.updated_at,
        )


class OrganisationList(BaseModel):
    items: list[OrganisationOut]
    total: int
