"""What organisations are told, read off each transaction: the outbox is written in the
transaction of the action itself.

:mod:`gateway.transactions` hands over, just before each commit, the exchanges, consents and
signals the transaction created or changed the status of, with their status before it; the
status each ends with decides the events (so a state passed through inside one transaction, like
a new exchange's default before its decision, is never announced). For each event one
``WebhookMessage`` per active subscription of the organisations concerned is added and committed
with the action, or rolled back with it: no event without its action and no action without its
event, whichever code path made the change (API, portal, maintenance, demo).

| event | when | to |
|---|---|---|
| ``exchange.awaiting_delivery`` | an exchange may now be delivered | its source |
| ``exchange.delivered`` | a payload waits to be fetched | its recipient |
| ``exchange.ended`` | denied, expired, revoked or withdrawn | both parties |
| ``break_glass.review_due`` | a break-glass exchange was opened | both parties |
| ``consent.granted``, ``consent.revoked`` | a holder answered or revoked | both parties |
| ``signal.received`` | a verzuimmelding reached leerplicht | the leerplicht office |

Bodies name ids, the purpose and the status; never a field value, a BSN or a name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.consent.models import Consent, ConsentStatus
from gateway.exchanges.lifecycle import FINAL
from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.signals.models import AbsenceSignal
from gateway.transactions import NEW, Seen, on_commit
from gateway.webhooks.models import WebhookMessage, WebhookSubscription, message_id
from gateway.webhooks.schemas import EventType

EVENT_TYPES: tuple[str, ...] = get_args(EventType)

Event = tuple[tuple[str, ...], str, dict[str, Any]]  # (organisation ids, type, data)


def _events(session: Session, obj: Any, before: Any) -> Iterator[Event]:
    if isinstance(obj, AbsenceSignal):
        if before is NEW:
            yield (obj.leerplicht_id,), "signal.received", {"exchange_id": obj.exchange_id}
        return
    if obj.status == before:
        return
    if obj.id is None:
        obj.id = str(uuid.uuid4())  # the id the insert would give it, known now
    if isinstance(obj, Exchange):
        yield from _exchange_events(obj, before)
    else:
        yield from _consent_events(session, obj)


def _exchange_events(exchange: Exchange, before: Any) -> Iterator[Event]:
    data = {"exchange_id": exchange.id, "purpose": exchange.purpose}
    both = (exchange.source_id, exchange.recipient_id)
    if before is NEW and exchange.break_glass_justification:
        yield both, "break_glass.review_due", data
    status = exchange.status
    if status == ExchangeStatus.AWAITING_DELIVERY:
        yield (exchange.source_id,), "exchange.awaiting_delivery", data
    elif status == ExchangeStatus.DELIVERED:
        yield (exchange.recipient_id,), "exchange.delivered", data
    elif status in FINAL:
        yield both, "exchange.ended", {**data, "status": status.value}


def _consent_events(session: Session, consent: Consent) -> Iterator[Event]:
    kind = {ConsentStatus.ACTIVE: "consent.granted", ConsentStatus.REVOKED: "consent.revoked"}
    if consent.status not in kind:
        return
    parties: tuple[str, ...] = () if consent.grantee_id is None else (consent.grantee_id,)
    data: dict[str, Any] = {"consent_id": consent.id, "purpose": consent.purpose}
    if consent.exchange_id is not None:
        exchange = session.get(Exchange, consent.exchange_id)
        if exchange is not None:
            parties = (exchange.source_id, exchange.recipient_id)
        data["exchange_id"] = consent.exchange_id
    yield parties, kind[consent.status], data


def body(event_type: str, data: dict[str, Any], now: datetime) -> str:
    """The Standard Webhooks payload: type, timestamp and data."""
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data}, sort_keys=True)


@on_commit(Exchange, Consent, AbsenceSignal)
def _announce(session: Session, seen: Seen) -> None:
    found = [e for obj, before in seen for e in _events(session, obj, before)]
    if found:
        _enqueue(session, found)


def _enqueue(session: Session, found: list[Event]) -> None:
    organisations = {o for parties, _, _ in found for o in parties}
    subscriptions = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organisation_id.in_(organisations),
            WebhookSubscription.paused.is_(False),
        )
    ).all()
    if not subscriptions:
        return
    now = datetime.now(UTC)
    for parties, event_type, data in found:
        text = body(event_type, data, now)
        for subscription in subscriptions:
            if subscription.organisation_id in parties and event_type in subscription.event_types:
                session.add(
                    WebhookMessage(
                        id=message_id(),
                        subscription_id=subscription.id,
                        event_type=event_type,
                        body=text,
                        next_attempt_at=now,
                    )
                )
