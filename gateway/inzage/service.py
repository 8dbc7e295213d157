"""What is held about one child, to read in the portal and to download as one JSON document.

Only a reader the portal's household says may read content (``may_read_content``) gets here;
a restricted parent is not in any household, so sees nothing. Reading a held payload is recorded
as a ``view`` of that exchange; the download as ``inzage.download``, with a ``view`` for each
payload it carries. The document validates against ``download.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import child_reference, record
from gateway.children.models import Child
from gateway.consent.models import Consent, Notice
from gateway.decisions.models import DecisionRecord
from gateway.errors import ForbiddenError, NotFoundError
from gateway.exchanges import held_payloads
from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.exchanges.work import Exchanges
from gateway.organisations.service import organisation_names
from gateway.translations import N_

HELD = (ExchangeStatus.DELIVERED, ExchangeStatus.FETCHED)


class Reader(Protocol):
    """Who reads, as the portal's household knows them: the child it is about, and whether they
    may read content (a parent with gezag of a child under 16, or the child from 16)."""

    @property
    def child(self) -> Child: ...

    @property
    def may_read_content(self) -> bool: ...


def download_schema() -> dict[str, Any]:
    text = resources.files("gateway.inzage").joinpath("download.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class Held:
    exchange: Exchange
    fields: dict[str, Any]


def _require(member: Reader) -> None:
    if not member.may_read_content:
        raise ForbiddenError(
            N_("Alleen een ouder met gezag (of het kind zelf vanaf 16 jaar) kan de inhoud lezen.")
        )


def _exchanges(session: Session, child_id: str) -> list[Exchange]:
    return list(
        session.scalars(
            select(Exchange).where(Exchange.child_id == child_id).order_by(Exchange.created_at)
        )
    )


def held(session: Session, exchanges: Exchanges, member: Reader, actor: Actor) -> list[Held]:
    """Every payload still held for the child, each read recorded; commits."""
    _require(member)
    found = []
    for exchange in _exchanges(session, member.child.id):
        if exchange.status not in HELD:
            continue
        fields = held_payloads.show_to_holder(exchanges, session, exchange, member.child, actor)
        if fields is not None:
            found.append(Held(exchange, fields))
    session.commit()
    return found


def held_exchange(session: Session, member: Reader, exchange_id: str) -> Exchange:
    """One of the child's exchanges with a payload held, for someone who may read it; any
    other id is not found."""
    _require(member)
    exchange = session.get(Exchange, exchange_id)
    if exchange is None or exchange.child_id != member.child.id or exchange.status not in HELD:
        raise NotFoundError(N_("Hier ligt niets klaar met dit nummer."))
    return exchange


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def download(
    session: Session, exchanges: Exchanges, member: Reader, actor: Actor
) -> dict[str, Any]:
    """Everything held about the child: exchanges, the decisions with their reasons, consents,
    notices and the payloads still held. Recorded, and committed."""
    _require(member)
    child = member.child
    rows = _exchanges(session, child.id)
    names = organisation_names(session, [i for e in rows for i in (e.source_id, e.recipient_id)])
    kept = held(session, exchanges, member, actor)
    payloads = {h.exchange.id: h.fields for h in kept}
    decisions = session.scalars(
        select(DecisionRecord)
        .where(
            or_(
                DecisionRecord.child_id == child.id,
                DecisionRecord.exchange_id.in_([e.id for e in rows]),
            )
        )
        .order_by(DecisionRecord.recorded_at)
    ).all()
    consents = session.scalars(
        select(Consent).where(Consent.child_id == child.id).order_by(Consent.created_at)
    ).all()
    notices = session.scalars(
        select(Notice).where(Notice.child_id == child.id).order_by(Notice.created_at)
    ).all()
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "child": {"birth_date": child.birth_date.isoformat()},
        "exchanges": [
            {
                "id": e.id,
                "purpose": e.purpose,
                "status": e.status.value,
                "source": names.get(e.source_id, e.source_id),
                "recipient": names.get(e.recipient_id, e.recipient_id),
                "requested_fields": list(e.requested_fields),
                "basis": (e.decision or {}).get("basis"),
                "created_at": _time(e.created_at),
                "delivered_at": _time(e.delivered_at),
                "fetched_at": _time(e.fetched_at),
                "expires_at": _time(e.expires_at),
                "payload_held": e.id in payloads,
            }
            for e in rows
        ],
        "decisions": [
            {
                "exchange_id": d.exchange_id,
                "action": d.action,
                "allow": bool(d.answer.get("allow")),
                "reasons": [str(r) for r in d.answer.get("reasons", [])],
                "policy_version": d.policy_version,
                "recorded_at": _time(d.recorded_at),
            }
            for d in decisions
        ],
        "consents": [
            {
                "id": c.id,
                "purpose": c.purpose,
                "grantee": c.grantee_text(names),
                "holder": "kind" if c.holder == "child" else "ouder",
                "fields": list(c.fields),
                "level": c.level,
                "status": c.status.value,
                "valid_from": _time(c.valid_from),
                "valid_until": _time(c.valid_until),
            }
            for c in consents
        ],
        "notices": [
            {"kind": n.kind.value, "exchange_id": n.exchange_id, "created_at": _time(n.created_at)}
            for n in notices
        ],
        "payloads": [
            {
                "exchange_id": h.exchange.id,
                "fields": h.fields,
                "parent_reactions": held_payloads.reactions_of(exchanges, h.exchange),
            }
            for h in kept
        ],
    }
    record(
        session,
        Entry(
            action="inzage.download",
            actor=actor,
            outcome="success",
            child_ref=child_reference(session, child),
            extra={"exchanges": str(len(rows)), "payloads": str(len(payloads))},
        ),
    )
    session.commit()
    return document
