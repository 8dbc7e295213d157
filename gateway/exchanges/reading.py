"""Reading exchanges as one of their parties: an exchange the caller is not a party to does not
exist for it (404), whatever id it tries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.children.models import Child
from gateway.errors import NotFoundError, ValidationFailedError
from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.organisations.models import Organisation


@dataclass(frozen=True)
class ExchangeQuery:
    role: str | None = None  # "source", "recipient", or None for both
    status: ExchangeStatus | None = None
    purpose: str | None = None
    offset: int = 0
    limit: int = 50


def get_for_party(session: Session, organisation: Organisation, exchange_id: str) -> Exchange:
    exchange = session.scalar(
        select(Exchange).where(
            Exchange.id == exchange_id,
            or_(Exchange.source_id == organisation.id, Exchange.recipient_id == organisation.id),
        )
    )
    if exchange is None:
        raise NotFoundError("There is no exchange with this id.")
    return exchange


def list_for_party(
    session: Session, organisation: Organisation, query: ExchangeQuery
) -> tuple[list[Exchange], int]:
    """One page of the caller's exchanges, newest first, and how many there are in all."""
    if query.role == "source":
        where = [Exchange.source_id == organisation.id]
    elif query.role == "recipient":
        where = [Exchange.recipient_id == organisation.id]
    else:
        where = [
            or_(Exchange.source_id == organisation.id, Exchange.recipient_id == organisation.id)
        ]
    if query.status is not None:
        where.append(Exchange.status == query.status)
    if query.purpose is not None:
        where.append(Exchange.purpose == query.purpose)
    total = session.scalar(select(func.count()).select_from(Exchange).where(*where)) or 0
    rows = session.scalars(
        select(Exchange)
        .where(*where)
        .order_by(Exchange.created_at.desc(), Exchange.id)
        .offset(query.offset)
        .limit(query.limit)
    )
    return list(rows), total


def child_of(session: Session, organisation: Organisation, exchange_id: str) -> Child:
    """The child of an earlier exchange the caller took part in (a child named by reference)."""
    try:
        exchange = get_for_party(session, organisation, exchange_id)
    except NotFoundError as exc:
        raise ValidationFailedError(
            "The child reference does not name an exchange you took part in.",
            errors=[{"pointer": "#/child/exchange_id", "detail": "no such exchange for you"}],
        ) from exc
    return session.get_one(Child, exchange.child_id)
