"""``/api/v1/children``: the safety code. A child is named by BSN and birth date in the body,
never in a URL, so the number stays out of access logs."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.scopes import Scope
from gateway.children import service
from gateway.deps import CurrentClient, SessionDep, require_json, require_scope
from gateway.policy.decision import SafetyCode
from gateway.policy.service import PolicyDecider

router = APIRouter(prefix="/children", tags=["children"], dependencies=[Depends(require_json)])


class SafetyCodeChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bsn: str = Field(
        max_length=16, description="The child's BSN (elfproef).", examples=["111222333"]
    )
    birth_date: date
    safety_code: SafetyCode


class SafetyCodeOut(BaseModel):
    safety_code: SafetyCode | None
    set_at: datetime | None


@router.put(
    "/safety-code",
    summary="Set a child's safety code (opvang only; decided and audited)",
    dependencies=[Depends(require_scope(Scope.EXCHANGE))],
)
def set_safety_code(
    body: SafetyCodeChange, client: CurrentClient, session: SessionDep, request: Request
) -> SafetyCodeOut:
    decider: PolicyDecider = request.app.state.policy
    child = service.identify(session, body.bsn, body.birth_date, request.app.state.pseudonym_key)
    child = service.change_safety_code(
        session,
        child,
        body.safety_code,
        organisation=client.organisation,
        actor=client.actor,
        decider=decider,
    )
    return SafetyCodeOut(safety_code=child.safety_code, set_at=child.safety_code_set_at)
