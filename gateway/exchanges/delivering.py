"""Delivering and fetching a payload. The source delivers: the fields the exchange's decision
grants are kept and sealed, the others are stripped, each with the reason. The recipient
fetches: the policy is asked again, and only what it grants now is released."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.auditing.service import Recorded
from gateway.children.models import Child
from gateway.errors import ConflictError, ForbiddenError, GoneError, ValidationFailedError
from gateway.exchanges.deciding import decide_again
from gateway.exchanges.ending import end, move
from gateway.exchanges.lifecycle import check_transition
from gateway.exchanges.models import Exchange, Payload
from gateway.exchanges.models import ExchangeStatus as S
from gateway.exchanges.reading import get_for_party
from gateway.exchanges.recording import record_step
from gateway.exchanges.sealing import Sealed, WrappedKey, payload_context, seal, unseal
from gateway.exchanges.work import Exchanges
from gateway.organisations.models import Organisation
from gateway.policy.decision import Decision, Ruling


@dataclass(frozen=True)
class Delivered:
    exchange: Exchange
    stripped: dict[str, str]  # field name -> why it was not stored
    entry: Recorded  # the delivery's audit entry


@dataclass(frozen=True)
class Fetched:
    exchange: Exchange
    fields: dict[str, Any]  # what the policy grants now
    entry: Recorded  # the fetch's audit entry


def deliver(
    work: Exchanges,
    session: Session,
    organisation: Organisation,
    actor: Actor,
    exchange_id: str,
    payload: dict[str, Any],
) -> Delivered:
    exchange = get_for_party(session, organisation, exchange_id)
    if organisation.id != exchange.source_id:
        raise ForbiddenError("Only the source of an exchange delivers its payload.")
    check_transition(exchange.status, S.DELIVERED)
    work.schemas.validate(exchange.purpose, payload)
    child = session.get_one(Child, exchange.child_id)
    ruling = decide_again(work, session, exchange, child, actor, work.clock())
    delivered = seal_payload(work, session, exchange, child, actor, payload, ruling)
    session.commit()
    return delivered


def seal_payload(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    actor: Actor,
    payload: dict[str, Any],
    ruling: Ruling[Decision] | None = None,
) -> Delivered:
    """Keep the fields the exchange's stored decision grants, seal them, record the
    delivery; the caller commits. Returns what was stripped, with the reason for each, and
    the delivery's audit entry.
    ``ruling`` is the decision made for this delivery, kept with the delivery's entry;
    None when the delivery follows the opening decision in the same transaction."""
    now = work.clock()
    granted = set(exchange.decision["fields"])
    reasons: dict[str, str] = exchange.decision["stripped"]
    kept = {name: value for name, value in payload.items() if name in granted}
    stripped = {
        name: reasons.get(name, "not granted by the decision for this exchange")
        for name in sorted(set(payload) - granted)
    }
    if not kept:
        raise ValidationFailedError(
            "None of the delivered fields is granted for this exchange; nothing was stored.",
            errors=[{"pointer": f"#/{name}", "detail": why} for name, why in stripped.items()],
        )
    if exchange.payload is not None:
        # A delivery that committed while this one ran: on SQLite the exchange's row and its
        # payload are read by two statements, and the second can see a payload the first did
        # not see the delivery of. Never replace a payload: this one arrived second.
        raise ConflictError("The payload of this exchange has already been delivered.")
    serialised = json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()
    sealed = seal(work.keyring, serialised, payload_context(exchange.id))
    exchange.payload = Payload(
        exchange_id=exchange.id,
        key_id=sealed.wrapped_key.key_id,
        wrapped_key=sealed.wrapped_key.blob,
        ciphertext=sealed.ciphertext,
        fields=sorted(kept),
        stripped=sorted(stripped),
        created_at=now,
    )
    move(exchange, S.DELIVERED)
    exchange.delivered_at = now
    entry = record_step(
        work,
        session,
        "delivery",
        actor,
        exchange,
        child,
        outcome="success",
        fields=sorted(kept),
        extra={"stripped": ",".join(sorted(stripped))},
        ruling=ruling,
    )
    return Delivered(exchange, stripped, entry)


def fetch(
    work: Exchanges, session: Session, organisation: Organisation, actor: Actor, exchange_id: str
) -> Fetched:
    exchange = get_for_party(session, organisation, exchange_id)
    if organisation.id != exchange.recipient_id:
        raise ForbiddenError("Only the recipient of an exchange fetches its payload.")
    if exchange.status not in (S.DELIVERED, S.FETCHED):
        raise ConflictError(
            f"There is nothing to fetch: the exchange is {exchange.status.value}.",
            exchange_status=exchange.status.value,
        )
    payload = exchange.payload
    if payload is None or payload.shredded:
        raise GoneError("The payload of this exchange has been destroyed.")
    now = work.clock()
    child = session.get_one(Child, exchange.child_id)
    if exchange.expires_at <= now:
        end(work, session, exchange, child, S.EXPIRED, "retention period ended", actor)
        session.commit()
        raise GoneError("The retention period of this exchange has ended; it was destroyed.")
    ruling = decide_again(work, session, exchange, child, actor, now)
    stored = opened(work, payload)
    granted = set(ruling.answer.fields)
    released = {name: value for name, value in stored.items() if name in granted}
    if exchange.status == S.DELIVERED:
        move(exchange, S.FETCHED)
    exchange.fetched_at = now
    entry = record_step(
        work,
        session,
        "fetch",
        actor,
        exchange,
        child,
        outcome="success",
        fields=sorted(released),
        extra={"withheld": ",".join(sorted(set(stored) - granted))},
        ruling=ruling,
    )
    session.commit()
    return Fetched(exchange, released, entry)


def opened(work: Exchanges, payload: Payload) -> dict[str, Any]:
    """The fields of a payload that is still held, as delivered."""
    assert payload.key_id and payload.wrapped_key and payload.ciphertext
    sealed = Sealed(WrappedKey(payload.key_id, payload.wrapped_key), payload.ciphertext)
    fields: dict[str, Any] = json.loads(
        unseal(work.keyring, sealed, payload_context(payload.exchange_id))
    )
    return fields
