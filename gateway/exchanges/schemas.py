"""API shapes of ``/api/v1/exchanges``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.auditing.receipts import EntryReceipt
from gateway.children.schemas import ChildIdentity
from gateway.exchanges.models import Direction, Exchange, ExchangeStatus
from gateway.policy.decision import BreakGlass, Level
from gateway.policy.schemas import FIELD_NAME


class ExchangeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=64, pattern=r"^[a-z][a-z0-9-]*$", examples=["warme-overdracht"])
    direction: Direction = Field(
        description="offer: you are the source and will deliver; request: you ask the "
        "counterparty for data."
    )
    counterparty_id: str = Field(
        max_length=64,
        description="The other organisation: recipient of an offer, source of a request.",
    )
    child: ChildIdentity
    requested_fields: list[Annotated[str, Field(pattern=FIELD_NAME)]] = Field(
        max_length=100, description="Field names from the purpose register; never values."
    )
    requested_level: Level | None = None
    reason: str | None = Field(
        default=None, max_length=2000, description="Needed for a level above the default."
    )
    break_glass: BreakGlass | None = Field(
        default=None, description="Acute safety situation: always reviewed by a privacy officer."
    )


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class DecisionOut(BaseModel):
    allow: bool
    basis: str | None
    level: str | None
    fields: list[str]
    stripped: dict[str, str]
    reasons: list[str]
    obligations: list[dict[str, Any]]
    retention_days: int | None
    consents_relied: list[str] = Field(
        default_factory=list,
        description="The ids of the consents this decision counted; both parties may read "
        "each at `/api/v1/consents/{id}`.",
    )
    policy_version: str


class PayloadStatus(BaseModel):
    fields: list[str] = Field(description="Names of the stored fields (never their values).")
    stripped: list[str] = Field(description="Names removed before storage.")
    delivered_at: datetime
    shredded_at: datetime | None
    shred_reason: str | None


class ExchangeOut(BaseModel):
    id: str
    purpose: str
    direction: Direction
    status: ExchangeStatus
    status_reason: str | None
    source_id: str
    recipient_id: str
    requested_fields: list[str]
    requested_level: str | None
    break_glass: bool
    decision: DecisionOut
    placement_confirmed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    fetched_at: datetime | None
    payload: PayloadStatus | None

    @classmethod
    def of(cls, exchange: Exchange) -> ExchangeOut:
        payload = exchange.payload
        return cls(
            id=exchange.id,
            purpose=exchange.purpose,
            direction=exchange.direction,
            status=exchange.status,
            status_reason=exchange.status_reason,
            source_id=exchange.source_id,
            recipient_id=exchange.recipient_id,
            requested_fields=exchange.requested_fields,
            requested_level=exchange.requested_level,
            break_glass=exchange.break_glass_justification is not None,
            decision=DecisionOut.model_validate(
                {k: v for k, v in exchange.decision.items() if k != "purpose"}
            ),
            placement_confirmed_at=exchange.placement_confirmed_at,
            created_at=exchange.created_at,
            updated_at=exchange.updated_at,
            expires_at=exchange.expires_at,
            delivered_at=exchange.delivered_at,
            fetched_at=exchange.fetched_at,
            payload=(
                PayloadStatus(
                    fields=payload.fields,
                    stripped=payload.stripped,
                    delivered_at=payload.created_at,
                    shredded_at=payload.shredded_at,
                    shred_reason=payload.shred_reason,
                )
                if payload is not None
                else None
            ),
        )


class ExchangeList(BaseModel):
    items: list[ExchangeOut]
    total: int
    offset: int
    limit: int


class DeliveryOut(BaseModel):
    exchange: ExchangeOut
    stored: list[str] = Field(description="Fields encrypted and stored.")
    stripped: dict[str, str] = Field(description="Fields removed before storage, and why.")
    audit: EntryReceipt = Field(description="The delivery's entry in the audit log.")


class ParentReaction(BaseModel):
    from_: str = Field(alias="from", description="Who reacted: moeder, vader, voogd, or kind.")
    text: str
    added_at: datetime

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PayloadOut(BaseModel):
    exchange_id: str
    purpose: str
    level: str | None
    fields: dict[str, Any] = Field(description="Only the fields the policy grants right now.")
    parent_reactions: list[ParentReaction] = Field(
        default_factory=list,
        description="Where the purpose register allows it (onderwijskundig rapport): the "
        "parents' reactions (zienswijze), which travel with the payload.",
    )
    audit: EntryReceipt = Field(description="The fetch's entry in the audit log.")


ListRole = Literal["source", "recipient"]
