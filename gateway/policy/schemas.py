"""API shapes of the policy endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.children.schemas import ChildIdentity
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
    child: ChildIdentity | None = Field(
        default=None,
        description="A real child: the preview decides on its facts as the gateway holds them "
        "(age, safety code, guardians, a confirmed placement), as a create would.",
    )
    subject: Subject | None = Field(
        default=None,
        description="A made-up child instead of a real one; the answer is then hypothetical.",
    )

    @model_validator(mode="after")
    def _one_child(self) -> PreviewRequest:
        if (self.child is None) == (self.subject is None):
            raise ValueError("give either child (a real child) or subject (a made-up one)")
        return self


class PreviewResponse(Decision):
    hypothetical: bool = Field(
        description="True when decided on a made-up subject: a real child's facts (its safety "
        "code, its guardians) can make the real decision differ."
    )


class PolicyCatalogue(BaseModel):
    policy_version: str
    engine: str
    rules: list[dict[str, Any]]
    purposes: list[dict[str, Any]]
