"""``/api/v1/consents/{id}``: a consent as the organisations involved see it, as the gateway's
record or as FHIR R5. Involved are the recipient it was given to, the source of the exchange it
was asked for, and both parties of every exchange whose decision counted it (a consent given
ahead of time to every school of a region names no organisation, but the school its decision
relied on may read what it relied on)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.auditing.service import child_reference
from gateway.children.models import Child
from gateway.consent.fhir import as_fhir, as_record
from gateway.consent.models import Consent
from gateway.deps import CurrentClient, ForStaff, SessionDep
from gateway.errors import NotFoundError
from gateway.exchanges.models import Exchange
from gateway.one_hop import OneHopRoute
from gateway.policy.deps import DeciderDep

router = APIRouter(route_class=OneHopRoute, prefix="/consents", tags=["consents"])
FHIR_JSON = "application/fhir+json"


@router.get(
    "/{consent_id}",
    summary="A consent, for the recipient and the source of its exchange, and the parties whose "
    "decision counted it (?format=fhir for FHIR R5)",
    dependencies=[ForStaff],
    responses={200: {"content": {FHIR_JSON: {}}}},
)
def read_consent(
    consent_id: str,
    client: CurrentClient,
    session: SessionDep,
    decider: DeciderDep,
    format: Literal["json", "fhir"] = "json",
) -> Any:
    consent = session.get(Consent, consent_id)
    exchange = (
        session.get(Exchange, consent.exchange_id) if consent and consent.exchange_id else None
    )
    if consent is None or not _involved(session, consent, exchange, client.organisation.id):
        raise NotFoundError("There is no consent with this id for you.")
    child = session.get_one(Child, consent.child_id)
    spec = decider.bundle.purpose(consent.purpose) or {}
    record = as_record(
        consent,
        child_ref=child_reference(session, child),
        source_id=exchange.source_id if exchange else None,
        register_uri=spec.get("uri"),
    )
    session.commit()  # a first reference for this child may have been made
    if format == "fhir":
        return JSONResponse(as_fhir(record), media_type=FHIR_JSON)
    return record


def _involved(
    session: Session, consent: Consent, exchange: Exchange | None, organisation_id: str
) -> bool:
    if organisation_id == consent.grantee_id:
        return True
    if exchange is not None and organisation_id == exchange.source_id:
        return True
    relying = session.scalars(
        select(Exchange).where(
            Exchange.child_id == consent.child_id,
            Exchange.purpose == consent.purpose,
            or_(Exchange.source_id == organisation_id, Exchange.recipient_id == organisation_id),
        )
    )
    return any(consent.id in e.relied_consent_ids for e in relying)
