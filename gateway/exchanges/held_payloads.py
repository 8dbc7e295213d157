"""A held payload as its child's parents see it (inzage, AVG art. 15), and the reactions
(zienswijze) they may add where the purpose allows one. The reactions are sealed under the
payload's own data key, so they travel with it to the recipient and are shredded with it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.children.models import Child
from gateway.errors import ForbiddenError, GoneError, ValidationFailedError
from gateway.exchanges.delivering import opened
from gateway.exchanges.models import Exchange
from gateway.exchanges.recording import record_step
from gateway.exchanges.sealing import WrappedKey, payload_context, seal_beside, unseal_beside
from gateway.exchanges.work import Exchanges
from gateway.translations import N_, _

REACTIONS = b"reactions"  # what a payload's reactions are sealed as, beside the payload
REACTION_MAX = 2000


def show_to_holder(
    work: Exchanges, session: Session, exchange: Exchange, child: Child, actor: Actor
) -> dict[str, Any] | None:
    """The payload held for ``exchange`` as delivered, for inzage by a parent or the child
    (the caller has established that ``actor`` may read it), recorded as a ``view``; None
    when nothing is held any more. The caller commits."""
    payload = exchange.payload
    if payload is None or payload.shredded or exchange.expires_at <= work.clock():
        return None
    stored = opened(work, payload)
    record_step(
        work, session, "view", actor, exchange, child, outcome="success", fields=sorted(stored)
    )
    return stored


def reactions_of(work: Exchanges, exchange: Exchange) -> list[dict[str, str]]:
    """The parents' reactions (zienswijze) kept with a held payload, oldest first."""
    payload = exchange.payload
    if payload is None or payload.shredded or payload.reactions is None:
        return []
    assert payload.key_id and payload.wrapped_key
    wrapped = WrappedKey(payload.key_id, payload.wrapped_key)
    opened_reactions = unseal_beside(
        work.keyring, wrapped, payload.reactions, payload_context(exchange.id), REACTIONS
    )
    kept: list[dict[str, str]] = json.loads(opened_reactions)
    return kept


def add_reaction(
    work: Exchanges,
    session: Session,
    exchange: Exchange,
    child: Child,
    actor: Actor,
    *,
    relation: str,
    text: str,
) -> None:
    """A parent's reaction to a held payload, where the purpose allows one; it travels with
    the payload to the recipient (:func:`reactions_of`). The caller has established that
    ``actor`` may read the payload; this commits."""
    payload = exchange.payload
    if not work.purpose(exchange.purpose).get("parent_reactions"):
        raise ForbiddenError(N_("Bij dit soort gegevens hoort geen reactie van ouders."))
    text = text.strip()
    if not 1 <= len(text) <= REACTION_MAX:
        raise ValidationFailedError(
            _("Schrijf een reactie van 1 tot %(most)s tekens.", most=REACTION_MAX),
            errors=[{"pointer": "#/text", "detail": f"1 to {REACTION_MAX} characters"}],
        )
    if payload is None or payload.shredded or exchange.expires_at <= work.clock():
        raise GoneError("These data are no longer kept; a reaction cannot be added.")
    assert payload.key_id and payload.wrapped_key
    kept = [
        *reactions_of(work, exchange),
        {"from": relation, "text": text, "added_at": work.clock().isoformat()},
    ]
    payload.reactions = seal_beside(
        work.keyring,
        WrappedKey(payload.key_id, payload.wrapped_key),
        json.dumps(kept).encode(),
        payload_context(exchange.id),
        REACTIONS,
    )
    record_step(
        work,
        session,
        "reaction.add",
        actor,
        exchange,
        child,
        outcome="success",
        extra={"characters": str(len(text))},
    )
    session.commit()
