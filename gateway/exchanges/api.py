"""``/api/v1/exchanges``: create, list, read, deliver, fetch, withdraw, confirm a placement, and
the decisions kept for an exchange.

Handlers parse, call the use cases of :mod:`gateway.exchanges.work`, and shape the answer. A
child is named in the body, never in a URL, so a BSN stays out of access logs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response, status
from sqlalchemy.orm import Session

from gateway.auditing.receipts import EntryReceipt
from gateway.children import service as children
from gateway.children.models import Child
from gateway.children.schemas import ChildIdentity
from gateway.decisions import replay
from gateway.decisions.schemas import RecordedDecision, RecordedDecisions
from gateway.deps import (
    MAX_OFFSET,
    CurrentClient,
    ForStaff,
    PseudonymKeyDep,
    SessionDep,
    require_json,
)
from gateway.exchanges import creating, delivering, ending, held_payloads, reading
from gateway.exchanges.creating import NewExchange
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.models import Direction, ExchangeStatus
from gateway.exchanges.reading import ExchangeQuery
from gateway.exchanges.schemas import (
    DeliveryOut,
    ExchangeCreate,
    ExchangeList,
    ExchangeOut,
    ListRole,
    ParentReaction,
    PayloadOut,
    Withdrawal,
)
from gateway.exchanges.work import Exchanges
from gateway.one_hop import OneHopRoute
from gateway.organisations.models import Organisation
from gateway.policy.schemas import PreviewRequest

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/exchanges",
    tags=["exchanges"],
    dependencies=[Depends(require_json), ForStaff],
)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a POST safely: the same key and body give the same exchange.",
    ),
]


def named_child(
    session: Session,
    exchanges: Exchanges,
    organisation: Organisation,
    identity: ChildIdentity,
    key: bytes,
    *,
    register: bool = True,
) -> Child:
    """The child a body names: by BSN and birth date, or by an exchange the caller took part in.
    A BSN the gateway has not seen is registered, unless ``register`` is false (a preview)."""
    if identity.exchange_id is not None:
        return reading.child_of(session, organisation, identity.exchange_id)
    assert identity.bsn is not None and identity.birth_date is not None
    lookup = children.identify if register else children.find
    return lookup(session, identity.bsn, identity.birth_date, key, at="#/child")


def order_of(body: ExchangeCreate | PreviewRequest, child: Child) -> NewExchange:
    """What a create (or a preview of one) asks, about the child it names."""
    return NewExchange(
        purpose=body.purpose,
        direction=Direction(body.direction),
        counterparty_id=body.counterparty_id,
        child=child,
        requested_fields=body.requested_fields,
        requested_level=body.requested_level,
        reason=body.reason,
        break_glass_justification=body.break_glass.justification if body.break_glass else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Request or offer a child's data for one purpose; the policy decides at once",
)
def create_exchange(
    body: ExchangeCreate,
    client: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ExchangeOut:
    order = order_of(body, named_child(session, exchanges, client.organisation, body.child, key))
    exchange, created = creating.create(
        exchanges,
        session,
        client.organisation,
        client.actor,
        order,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/exchanges/{exchange.id}"
    return ExchangeOut.of(exchange)


@router.get(
    "",
    summary="Exchanges you are a party to; ?role=source&status=awaiting_delivery is "
    "your work queue",
)
def list_exchanges(
    client: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
    role: ListRole | None = None,
    status_: Annotated[ExchangeStatus | None, Query(alias="status")] = None,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ExchangeList:
    query = ExchangeQuery(role=role, status=status_, purpose=purpose, offset=offset, limit=limit)
    found, total = reading.list_for_party(session, client.organisation, query)
    return ExchangeList(
        items=[ExchangeOut.of(e) for e in found], total=total, offset=offset, limit=limit
    )


@router.get("/{exchange_id}", summary="One exchange, with its decision")
def read_exchange(
    exchange_id: str, client: CurrentClient, session: SessionDep, exchanges: ExchangesDep
) -> ExchangeOut:
    return ExchangeOut.of(reading.get_for_party(session, client.organisation, exchange_id))


@router.get(
    "/{exchange_id}/decisions",
    summary="Every decision on this exchange: its input as you may see it, answer, bundle "
    "version and audit index",
    description="The outcome, reasons, fields, bundle version and both hashes are shown to both "
    "parties. Of the input, facts the other party supplied about the child's household (a "
    "safety code, a restricted parent, a parent staying in a shelter) and its break-glass "
    "justification are withheld; `commitments` still lets you check `input_hash` against the "
    "audit entry (ADR 0013).",
)
def read_decisions(
    exchange_id: str, client: CurrentClient, session: SessionDep, exchanges: ExchangesDep
) -> RecordedDecisions:
    exchange = reading.get_for_party(session, client.organisation, exchange_id)
    rows = session.scalars(replay.records(exchange_id=exchange.id))
    return RecordedDecisions(
        exchange_id=exchange.id,
        items=[RecordedDecision.of(row, client.organisation.id) for row in rows],
    )


@router.put(
    "/{exchange_id}/payload",
    summary="Deliver the payload (source); fields the decision did not grant are stripped",
)
def deliver_payload(
    exchange_id: str,
    payload: Annotated[dict[str, Any], Body(description="Fields of the purpose's JSON Schema.")],
    client: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
) -> DeliveryOut:
    delivered = delivering.deliver(
        exchanges, session, client.organisation, client.actor, exchange_id, payload
    )
    return DeliveryOut(
        exchange=ExchangeOut.of(delivered.exchange),
        stored=delivered.exchange.payload.fields if delivered.exchange.payload else [],
        stripped=delivered.stripped,
        audit=EntryReceipt.of(delivered.entry),
    )


@router.get(
    "/{exchange_id}/payload",
    summary="Fetch the payload (recipient); the policy is asked again at this moment",
)
def fetch_payload(
    exchange_id: str, client: CurrentClient, session: SessionDep, exchanges: ExchangesDep
) -> PayloadOut:
    fetched = delivering.fetch(exchanges, session, client.organisation, client.actor, exchange_id)
    exchange = fetched.exchange
    return PayloadOut(
        exchange_id=exchange.id,
        purpose=exchange.purpose,
        level=exchange.decision.get("level"),
        fields=fetched.fields,
        parent_reactions=[
            ParentReaction.model_validate(r)
            for r in held_payloads.reactions_of(exchanges, exchange)
        ],
        audit=EntryReceipt.of(fetched.entry),
    )


@router.post(
    "/{exchange_id}/withdrawal",
    summary="Call the exchange off (either party, before it is fetched); a payload is shredded",
)
def withdraw_exchange(
    exchange_id: str,
    client: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
    body: Withdrawal | None = None,
) -> ExchangeOut:
    exchange = ending.withdraw(
        exchanges,
        session,
        client.organisation,
        client.actor,
        exchange_id,
        body.reason if body else None,
    )
    return ExchangeOut.of(exchange)


@router.post(
    "/{exchange_id}/placement",
    summary="The school offers the child a place (plaatsing-opvang): staged disclosure",
)
def confirm_placement(
    exchange_id: str, client: CurrentClient, session: SessionDep, exchanges: ExchangesDep
) -> ExchangeOut:
    exchange = ending.confirm_placement(
        exchanges, session, client.organisation, client.actor, exchange_id
    )
    return ExchangeOut.of(exchange)
