"""``/api/v1/children``: safety code and guardians. A child is named by BSN and birth date in
the body, never in a URL, so the number stays out of access logs."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from gateway.children import service
from gateway.deps import CurrentClient, ForStaff, PseudonymKeyDep, SessionDep, require_json
from gateway.one_hop import OneHopRoute
from gateway.policy.decision import SafetyCode
from gateway.policy.deps import DeciderDep

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/children",
    tags=["children"],
    dependencies=[Depends(require_json)],
)


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
    dependencies=[ForStaff],
)
def set_safety_code(
    body: SafetyCodeChange,
    client: CurrentClient,
    session: SessionDep,
    decider: DeciderDep,
    key: PseudonymKeyDep,
) -> SafetyCodeOut:
    child = service.identify(session, body.bsn, body.birth_date, key)
    child = service.change_safety_code(
        session,
        child,
        body.safety_code,
        organisation=client.organisation,
        actor=client.actor,
        decider=decider,
    )
    return SafetyCodeOut(safety_code=child.safety_code, set_at=child.safety_code_set_at)


class GuardianIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relation: str = Field(
        min_length=2,
        max_length=32,
        pattern=r"^[a-z][a-z -]*$",
        description="How this person relates to the child, e.g. moeder, vader, voogd; one "
        "guardian per relation.",
        examples=["moeder"],
    )
    gezag: bool = Field(description="Holds parental authority (gezag).")
    restricted: bool = Field(
        default=False,
        description="Never asked and never shown anything (opvang only, e.g. a parent "
        "involved only if safe).",
    )
    accompanying: bool = Field(
        default=False, description="The parent who is with the child in a shelter."
    )
    bsn: str | None = Field(
        default=None,
        max_length=16,
        description="The parent's own BSN (elfproef), so that their DigiD login finds this "
        "child in the portal. Stored only as a keyed pseudonym; never returned.",
    )


class GuardiansChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bsn: str = Field(max_length=16, description="The child's BSN (elfproef).")
    birth_date: date
    guardians: list[GuardianIn] = Field(min_length=1, max_length=10)


class GuardianOut(BaseModel):
    id: str = Field(description="Pseudonymous id; consent requests and notices use it.")
    relation: str
    gezag: bool
    restricted: bool
    accompanying: bool
    portal_linked: bool = Field(description="A parent's BSN is on record: they can log in.")


@router.put(
    "/guardians",
    summary="Record a child's parents and guardians (opvang, school, swv; decided and audited)",
    dependencies=[ForStaff],
)
def record_guardians(
    body: GuardiansChange,
    client: CurrentClient,
    session: SessionDep,
    decider: DeciderDep,
    key: PseudonymKeyDep,
) -> list[GuardianOut]:
    child = service.identify(session, body.bsn, body.birth_date, key)
    stated = [
        service.GuardianFacts(
            **g.model_dump(exclude={"bsn"}),
            person_pseudonym=service.bsn_pseudonym(g.bsn, key, at=f"#/guardians/{i}/bsn")
            if g.bsn
            else None,
        )
        for i, g in enumerate(body.guardians)
    ]
    recorded = service.record_guardians(
        session,
        child,
        stated,
        organisation=client.organisation,
        actor=client.actor,
        decider=decider,
    )
    return [
        GuardianOut(
            id=g.id,
            relation=g.relation,
            gezag=g.gezag,
            restricted=g.restricted,
            accompanying=g.accompanying,
            portal_linked=g.person_pseudonym is not None,
        )
        for g in recorded
    ]
