"""``GET /api/v1/policies`` (the register in plain language) and the decision preview."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from audit import store
from gateway.auditing import service as auditing
from gateway.deps import CurrentClient, ForStaff, PseudonymKeyDep, SessionDep, require_json
from gateway.errors import ValidationFailedError
from gateway.exchanges import creating
from gateway.exchanges.api import named_child, order_of
from gateway.exchanges.deps import ExchangesDep
from gateway.one_hop import OneHopRoute
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_organisation
from gateway.policy.decision import DecisionInput, Party, Subject
from gateway.policy.deps import DeciderDep
from gateway.policy.schemas import PolicyCatalogue, PreviewRequest, PreviewResponse

router = APIRouter(route_class=OneHopRoute, tags=["policies"], dependencies=[Depends(require_json)])


@router.get("/policies", summary="The purpose register and the rules, in plain language")
def read_policies(decider: DeciderDep) -> PolicyCatalogue:
    data = decider.bundle.data
    return PolicyCatalogue(
        policy_version=decider.policy_version,
        engine=decider.engine.name,
        rules=[{"id": rule_id, **rule} for rule_id, rule in data.get("rules", {}).items()],
        purposes=[_purpose(pid, p) for pid, p in sorted(data.get("purposes", {}).items())],
    )


@router.post(
    "/decisions/preview",
    summary="Dry run: what would this exchange share, and why",
    dependencies=[ForStaff],
)
def preview_decision(
    body: PreviewRequest,
    client: CurrentClient,
    session: SessionDep,
    decider: DeciderDep,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
) -> PreviewResponse:
    if body.child is not None:
        child = named_child(
            session, exchanges, client.organisation, body.child, key, register=False
        )
        ruling = creating.preview(exchanges, session, client.organisation, order_of(body, child))
        child_ref = store.find_child_reference(session, child.pseudonym)
    else:
        assert body.subject is not None
        ruling = decider.rule(_made_up(session, client.organisation, body, body.subject))
        child_ref = None
    purpose = decider.bundle.purpose(body.purpose)
    entry = auditing.decision_entry(
        "decision.preview", client.actor, ruling, purpose["uri"] if purpose else None
    )
    auditing.record(session, replace(entry, child_ref=child_ref))
    session.commit()
    return PreviewResponse.model_validate(
        {**ruling.answer.model_dump(), "hypothetical": body.child is None}
    )


def _made_up(
    session: Session, organisation: Organisation, body: PreviewRequest, subject: Subject
) -> DecisionInput:
    counterparty = find_organisation(session, body.counterparty_id)
    if counterparty is None or not counterparty.is_active:
        raise ValidationFailedError(
            "The counterparty is not an active registered organisation.",
            errors=[{"pointer": "#/counterparty_id", "detail": "no such active organisation"}],
        )
    caller = Party(organisation_id=organisation.id, role=organisation.role)
    other = Party(organisation_id=counterparty.id, role=counterparty.role)
    offer = body.direction == "offer"
    return DecisionInput(
        purpose=body.purpose,
        initiator="source" if offer else "recipient",
        source=caller if offer else other,
        recipient=other if offer else caller,
        requested_fields=body.requested_fields,
        requested_level=body.requested_level,
        reason=body.reason,
        break_glass=body.break_glass,
        subject=subject,
    )


def _purpose(purpose_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": purpose_id,
        "title": spec["title"],
        "description": spec["description"],
        "uri": spec["uri"],
        "routes": spec["routes"],
        "directions": spec["directions"],
        "default_level": spec["default_level"],
        "full_requires_placement": spec["full_requires_placement"],
        "parent_reactions": spec["parent_reactions"],
        "standing_consent_max_days": spec["standing_consent_max_days"],
        "consent_holders": spec["consent_holders"],
        "retention_days": spec["retention_days"],
        "fields": [{"name": name, **field} for name, field in spec["fields"].items()],
        "never": [{"name": name, "why": why} for name, why in spec["forbidden_fields"].items()],
    }
