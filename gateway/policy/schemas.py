"""API shapes of the policy endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.policy.decision import BreakGlass, Decision, Level, Subject

FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"


class PreviewRequest(BaseModel):
    """A dry run: what would this exchange yield, and why. Nothing is stored or sent."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=64, pattern=r"^[a-z][a-z0-9-]*$", examples=["warme-overdracht"])
    direction: Literal["offer", "request"] = Field(
        description="offer: the caller is the source and sends; request: the caller asks."
    )
    counterparty_id: str = Field(
        max_length=64,
        description="The other organisation: recipient of an offer, source of a request.",
    )
    requested_fields: list[Annotated[str, Field(pattern=FIELD_NAME)]] = Field(
        max_length=100,
        description="Field names from the purpose register; never values.",
        examples=[["development_summary"]],
    )
    requested_level: Level | None = None
    reason: str | None = Field(default=None, max_length=2000)
    break_glass: BreakGlass | None = None
    subject: Subject


class PreviewResponse(Decision):
    pass


class PolicyCatalogue(BaseModel):
    policy_version: str
    engine: str
    rules: list[dict[str, Any]]
    purposes: list[dict[str, Any]]
