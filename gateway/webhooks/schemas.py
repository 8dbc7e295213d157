"""API shapes of webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.webhooks.models import MessageStatus

EventType = Literal[
    "exchange.awaiting_delivery",
    "exchange.delivered",
    "exchange.ended",
    "break_glass.review_due",
    "consent.granted",
    "consent.revoked",
    "signal.received",
]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="Where to POST: https, or (in dev) http on a loopback address.",
        examples=["https://lvs.school.example/kindkoppeling/webhooks"],
    ),
]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=7)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    event_types: EventTypes


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    event_types: EventTypes | None = None
    paused: bool | None = Field(
        default=None,
        description="Paused: no new messages are queued, and queued ones wait until resumed.",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    paused: bool
    created_at: datetime
    failed_messages: int = Field(description="Messages every attempt failed for.")


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The Standard Webhooks signing secret (whsec_…). Shown once: keep it now.",
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]
    total: int


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="None: no HTTP answer (see error).")
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(BaseModel):
    message_id: str = Field(description="The webhook-id header of every attempt.")
    event_type: str
    status: MessageStatus
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[WebhookDeliveryOut]
    total: int
