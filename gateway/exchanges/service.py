"""The exchange flow: decide, wait for consent, deliver, fetch, and end by shredding.

Every step asks the policy again with the facts of that moment (consent still valid, safety code
as it is now, placement confirmed or not), stores the decision on the exchange, and writes its
audit entry in the same transaction as the step itself: a step and its entry commit together or
not at all. The decision's input and answer are kept beside that entry
(:mod:`gateway.decisions.recording`), which commits to both by hash. Payloads are sealed
(:mod:`gateway.exchanges.sealing`) before they reach a session, and every ending destroys the
payload's data key.

Callers are identified by their organisation; an exchange the caller is not a party to does not
exist for it (404), whatever id it tries.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit import store
from audit.entry import Actor, Entry
from audit.store import Appended
from gateway.auditing.service import decision_entry, record
from gateway.children import service as children
from gateway.children.models import Child
from gateway.consent import service as consents
from gateway.consent.models import Consent, ConsentStatus
from gateway.db import utcnow
from gateway.decisions import recording
from gateway.errors import (
    DENIED_BY_POLICY,
    IDEMPOTENCY_KEY_REUSED,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    ValidationFailedError,
)
from gateway.exchanges.lifecycle import OPEN, check_transition
from gateway.exchanges.models import Direction, Exchange, ExchangeStatus, Payload
from gateway.exchanges.payload_schemas import PayloadSchemas
from gateway.exchanges.sealing import (
    MasterKeyring,
    Sealed,
    WrappedKey,
    seal,
    seal_beside,
    unseal,
    unseal_beside,
)
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_organisation
from gateway.policy.decision import (
    BreakGlass,
    Decision,
    DecisionInput,
    Guardian,
    Level,
    Party,
    Ruling,
    Subject,
)
from gateway.policy.service import PolicyDecider

MAINTENANCE_ACTOR = Actor(type="system", id="gateway-maintenance")
S = ExchangeStatus
REACTIONS = b"reactions"  # what a payload's reactions are sealed as, beside the payload
REACTION_MAX = 2000


@dataclass(frozen=True)
class NewExchange:
    """What an organisation asks for; the child is already identified."""

    purpose: str
    direction: Direction
    counterparty_id: str
    child: Child
    requested_fields: list[str]
    requested_level: Level | None = None
    reason: str | None = None
    break_glass_justification: str | None = None

    def fingerprint(self) -> str:
        """Identifies the request for Idempotency-Key checks; names the child by its row id."""
        document = {
            "purpose": self.purpose,
            "direction": self.direction.value,
            "counterparty_id": self.counterparty_id,
            "child": self.child.id,
            "requested_fields": self.requested_fields,
            "requested_level": self.requested_level.value if self.requested_level else None,
            "reason": self.reason,
            "break_glass": self.break_glass_justification,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Delivered:
    exchange: Exchange
    stripped: dict[str, str]  # field name -> why it was not stored
    entry: Appended  # the delivery's audit entry


@dataclass(frozen=True)
class Fetched:
    exchange: Exchange
    fields: dict[str, Any]  # what the policy grants now
    entry: Appended  # the fetch's audit entry


@dataclass(frozen=True)
class ExchangeQuery:
    role: str | None = None  # "source", "recipient", or None for both
    status: ExchangeStatus | None = None
    purpose: str | None = None
    offset: int = 0
    limit: int = 50


@dataclass
class MaintenanceReport:
    consents_expired: int = 0
    exchanges_expired: int = 0
    payloads_shredded: int = 0
    alerts_raised: int = 0  # at-home alerts (gateway.signals), counted by the maintenance run
    logins_ended: int = 0  # portal logins past their lifetime (gateway.portal.logins)
    school_years_closed: int = 0  # statistics tables stored (gateway.statistics)
    records_erased: int = 0  # signals and exemptions past retention (gateway.signals.retention)
    witnesses_asked: int = 0  # witnesses the latest checkpoint went to (gateway.auditing)


@dataclass
class Exchanges:
    """The exchange service, with the policy, keys and schemas it needs."""

    decider: PolicyDecider
    keyring: MasterKeyring
    schemas: PayloadSchemas
    clock: Callable[[], datetime] = field(default=utcnow)

    # --- reading ---------------------------------------------------------------------------

    def get_for_party(
        self, session: Session, organisation: Organisation, exchange_id: str
    ) -> Exchange:
        exchange = session.scalar(
            select(Exchange).where(
                Exchange.id == exchange_id,
                or_(
                    Exchange.source_id == organisation.id, Exchange.recipient_id == organisation.id
                ),
            )
        )
        if exchange is None:
            raise NotFoundError("There is no exchange with this id.")
        return exchange

    def list_for_party(
        self, session: Session, organisation: Organisation, query: ExchangeQuery
    ) -> tuple[list[Exchange], int]:
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

    def child_of(self, session: Session, organisation: Organisation, exchange_id: str) -> Child:
        """The child of an earlier exchange the caller took part in (a child named by reference)."""
        try:
            exchange = self.get_for_party(session, organisation, exchange_id)
        except NotFoundError as exc:
            raise ValidationFailedError(
                "The child reference does not name an exchange you took part in.",
                errors=[{"pointer": "#/child/exchange_id", "detail": "no such exchange for you"}],
            ) from exc
        return session.get_one(Child, exchange.child_id)

    # --- creating --------------------------------------------------------------------------

    def create(
        self,
        session: Session,
        organisation: Organisation,
        actor: Actor,
        order: NewExchange,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Exchange, bool]:
        """Decide and store a new exchange; returns it and whether it is new (idempotent POST)."""
        fingerprint = order.fingerprint()
        if idempotency_key is not None:
            earlier = self._by_idempotency_key(session, organisation, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, False
        exchange = self.open(session, organisation, actor, order, idempotency_key=idempotency_key)
        try:
            session.commit()
        except IntegrityError:
            # The same Idempotency-Key raced us; the first request's exchange is the answer.
            session.rollback()
            if idempotency_key is None:
                raise
            earlier = self._by_idempotency_key(session, organisation, idempotency_key, fingerprint)
            if earlier is None:
                raise
            return earlier, False
        return exchange, True

    def open(
        self,
        session: Session,
        organisation: Organisation,
        actor: Actor,
        order: NewExchange,
        *,
        idempotency_key: str | None = None,
    ) -> Exchange:
        """Decide a new exchange and add it, with its audit entries, to the session. The caller
        commits, so a flow that opens and delivers at once (a signal) is one transaction."""
        exchange, parties = self._draft(session, organisation, order, idempotency_key)
        now = exchange.created_at
        # Decided before it joins the session, so the row is written once, with its decision.
        ruling = self._decide(session, exchange, order.child, now, parties)
        decision = ruling.answer
        session.add(exchange)
        exchange.expires_at = now + timedelta(days=decision.retention_days or 0)
        action = "break_glass" if order.break_glass_justification else "decision"
        self._record_decision(session, action, actor, exchange, order.child, ruling)
        if decision.allow:
            exchange.status = S.AWAITING_DELIVERY
            exchange.relied_consent_ids = list(decision.consents_relied)
        elif decision.awaiting_consent:
            exchange.status = S.AWAITING_CONSENT
        else:
            exchange.status = S.DENIED
            exchange.status_reason = " ".join(decision.reasons)
            exchange.expires_at = now
        self._follow_obligations(session, exchange, decision)
        return exchange

    def preview(
        self, session: Session, organisation: Organisation, order: NewExchange
    ) -> Ruling[Decision]:
        """What the policy would decide if ``organisation`` opened this exchange now: the same
        input a create builds from the child's real facts. Nothing is added to the session."""
        exchange, parties = self._draft(session, organisation, order, None)
        return self._decide(session, exchange, order.child, exchange.created_at, parties)

    def _draft(
        self,
        session: Session,
        organisation: Organisation,
        order: NewExchange,
        idempotency_key: str | None,
    ) -> tuple[Exchange, tuple[Organisation, Organisation]]:
        """The new exchange as ``order`` describes it, not yet decided nor in the session, and
        its two parties (the caller and the counterparty)."""
        counterparty = find_organisation(session, order.counterparty_id)
        if counterparty is None or not counterparty.is_active:
            raise ValidationFailedError(
                "The counterparty is not an active registered organisation.",
                errors=[{"pointer": "#/counterparty_id", "detail": "no such active organisation"}],
            )
        offer = order.direction == Direction.OFFER
        now = self.clock()
        exchange = Exchange(
            id=str(uuid.uuid4()),
            purpose=order.purpose,
            direction=order.direction,
            initiator_id=organisation.id,
            source_id=organisation.id if offer else counterparty.id,
            recipient_id=counterparty.id if offer else organisation.id,
            child_id=order.child.id,
            requested_fields=list(order.requested_fields),
            requested_level=order.requested_level.value if order.requested_level else None,
            reason=order.reason,
            break_glass_justification=order.break_glass_justification,
            status=S.AWAITING_DELIVERY,  # replaced by the decision
            decision={},
            policy_version=self.decider.policy_version,
            relied_consent_ids=[],
            idempotency_key=idempotency_key,
            request_hash=order.fingerprint(),
            created_at=now,
            expires_at=now,
            payload=None,  # known to be empty, so it is not looked up again after the insert
        )
        return exchange, (organisation, counterparty)

    def _by_idempotency_key(
        self, session: Session, organisation: Organisation, key: str | None, fingerprint: str
    ) -> Exchange | None:
        earlier = session.scalar(
            select(Exchange).where(
                Exchange.initiator_id == organisation.id, Exchange.idempotency_key == key
            )
        )
        if earlier is not None and earlier.request_hash != fingerprint:
            raise _reused()
        return earlier

    # --- delivering and fetching -----------------------------------------------------------

    def deliver(
        self,
        session: Session,
        organisation: Organisation,
        actor: Actor,
        exchange_id: str,
        payload: dict[str, Any],
    ) -> Delivered:
        exchange = self.get_for_party(session, organisation, exchange_id)
        if organisation.id != exchange.source_id:
            raise ForbiddenError("Only the source of an exchange delivers its payload.")
        check_transition(exchange.status, S.DELIVERED)
        self.schemas.validate(exchange.purpose, payload)
        child = session.get_one(Child, exchange.child_id)
        ruling = self._decide_again(session, exchange, child, actor, self.clock())
        delivered = self.seal_payload(session, exchange, child, actor, payload, ruling)
        session.commit()
        return delivered

    def seal_payload(
        self,
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
        now = self.clock()
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
        sealed = seal(self.keyring, _serialise(kept), payload_context(exchange.id))
        exchange.payload = Payload(
            exchange_id=exchange.id,
            key_id=sealed.wrapped_key.key_id,
            wrapped_key=sealed.wrapped_key.blob,
            ciphertext=sealed.ciphertext,
            fields=sorted(kept),
            stripped=sorted(stripped),
            created_at=now,
        )
        self._move(exchange, S.DELIVERED)
        exchange.delivered_at = now
        entry = self._record(
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
        self, session: Session, organisation: Organisation, actor: Actor, exchange_id: str
    ) -> Fetched:
        exchange = self.get_for_party(session, organisation, exchange_id)
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
        now = self.clock()
        child = session.get_one(Child, exchange.child_id)
        if exchange.expires_at <= now:
            self._end(session, exchange, child, S.EXPIRED, "retention period ended", actor)
            session.commit()
            raise GoneError("The retention period of this exchange has ended; it was destroyed.")
        ruling = self._decide_again(session, exchange, child, actor, now)
        decision = ruling.answer
        assert payload.key_id and payload.wrapped_key and payload.ciphertext
        sealed = Sealed(WrappedKey(payload.key_id, payload.wrapped_key), payload.ciphertext)
        stored = json.loads(unseal(self.keyring, sealed, payload_context(exchange.id)))
        granted = set(decision.fields)
        released = {name: value for name, value in stored.items() if name in granted}
        if exchange.status == S.DELIVERED:
            self._move(exchange, S.FETCHED)
        exchange.fetched_at = now
        entry = self._record(
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

    def show_to_holder(
        self, session: Session, exchange: Exchange, child: Child, actor: Actor
    ) -> dict[str, Any] | None:
        """The payload held for ``exchange`` as delivered, for inzage by a parent or the child
        (the caller has established that ``actor`` may read it), recorded as a ``view``; None
        when nothing is held any more. The caller commits."""
        payload = exchange.payload
        if payload is None or payload.shredded or exchange.expires_at <= self.clock():
            return None
        assert payload.key_id and payload.wrapped_key and payload.ciphertext
        sealed = Sealed(WrappedKey(payload.key_id, payload.wrapped_key), payload.ciphertext)
        stored: dict[str, Any] = json.loads(
            unseal(self.keyring, sealed, payload_context(exchange.id))
        )
        self._record(
            session, "view", actor, exchange, child, outcome="success", fields=sorted(stored)
        )
        return stored

    def reactions_of(self, exchange: Exchange) -> list[dict[str, str]]:
        """The parents' reactions (zienswijze) kept with a held payload, oldest first."""
        payload = exchange.payload
        if payload is None or payload.shredded or payload.reactions is None:
            return []
        assert payload.key_id and payload.wrapped_key
        wrapped = WrappedKey(payload.key_id, payload.wrapped_key)
        opened = unseal_beside(
            self.keyring, wrapped, payload.reactions, payload_context(exchange.id), REACTIONS
        )
        kept: list[dict[str, str]] = json.loads(opened)
        return kept

    def add_reaction(
        self,
        session: Session,
        exchange: Exchange,
        child: Child,
        actor: Actor,
        *,
        relation: str,
        text: str,
    ) -> None:
        """A parent's reaction to a held payload, where the purpose allows one; it travels with
        the payload to the recipient (:meth:`reactions_of`). The caller has established that
        ``actor`` may read the payload; this commits."""
        purpose = self.decider.bundle.purpose(exchange.purpose) or {}
        payload = exchange.payload
        if not purpose.get("parent_reactions"):
            raise ForbiddenError("Bij dit soort gegevens hoort geen reactie van ouders.")
        text = text.strip()
        if not 1 <= len(text) <= REACTION_MAX:
            raise ValidationFailedError(
                f"Schrijf een reactie van 1 tot {REACTION_MAX} tekens.",
                errors=[{"pointer": "#/text", "detail": f"1 to {REACTION_MAX} characters"}],
            )
        if payload is None or payload.shredded or exchange.expires_at <= self.clock():
            raise GoneError("These data are no longer kept; a reaction cannot be added.")
        assert payload.key_id and payload.wrapped_key
        kept = [
            *self.reactions_of(exchange),
            {"from": relation, "text": text, "added_at": self.clock().isoformat()},
        ]
        payload.reactions = seal_beside(
            self.keyring,
            WrappedKey(payload.key_id, payload.wrapped_key),
            json.dumps(kept).encode(),
            payload_context(exchange.id),
            REACTIONS,
        )
        self._record(
            session,
            "reaction.add",
            actor,
            exchange,
            child,
            outcome="success",
            extra={"characters": str(len(text))},
        )
        session.commit()

    # --- ending ------------------------------------------------------------------------------

    def withdraw(
        self,
        session: Session,
        organisation: Organisation,
        actor: Actor,
        exchange_id: str,
        reason: str | None,
    ) -> Exchange:
        """Either party calls an exchange off before it is fetched; a stored payload is shredded."""
        exchange = self.get_for_party(session, organisation, exchange_id)
        check_transition(exchange.status, S.WITHDRAWN)
        child = session.get_one(Child, exchange.child_id)
        side = "source" if organisation.id == exchange.source_id else "recipient"
        why = f"withdrawn by the {side}" + (f": {reason}" if reason else "")
        self._end(session, exchange, child, S.WITHDRAWN, why, actor)
        session.commit()
        return exchange

    def confirm_placement(
        self, session: Session, organisation: Organisation, actor: Actor, exchange_id: str
    ) -> Exchange:
        """A school offers a place (staged disclosure): the shelter may now send it the full
        dossier, and the other candidate schools' copies are shredded."""
        exchange = self.get_for_party(session, organisation, exchange_id)
        purpose = self.decider.bundle.purpose(exchange.purpose) or {}
        if not purpose.get("full_requires_placement"):
            raise ConflictError("This purpose has no placement to confirm.")
        if organisation.id != exchange.recipient_id or organisation.role != OrganisationRole.SCHOOL:
            raise ForbiddenError("Only the school that received the summary confirms a place.")
        if exchange.status not in (S.AWAITING_DELIVERY, S.DELIVERED, S.FETCHED):
            raise ConflictError(
                f"A place cannot be confirmed on an exchange that is {exchange.status.value}.",
                exchange_status=exchange.status.value,
            )
        if exchange.placement_confirmed_at is not None:
            return exchange
        now = self.clock()
        child = session.get_one(Child, exchange.child_id)
        exchange.placement_confirmed_at = now
        self._record(session, "placement.confirm", actor, exchange, child, outcome="success")
        others = session.scalars(
            select(Exchange)
            .join(Organisation, Organisation.id == Exchange.recipient_id)
            .where(
                Exchange.child_id == exchange.child_id,
                Exchange.purpose == exchange.purpose,
                Exchange.source_id == exchange.source_id,
                Exchange.recipient_id != exchange.recipient_id,
                Organisation.role == OrganisationRole.SCHOOL,
                Exchange.status.in_(OPEN),
            )
        )
        for other in others:
            if other.status == S.FETCHED:
                self._shred(session, other, child, "placed at another school", actor)
            else:
                self._end(session, other, child, S.WITHDRAWN, "placed at another school", actor)
        session.commit()
        return exchange

    # --- consent answers (the portal calls these; issue 7) ------------------------------------

    def answer_consent(
        self,
        session: Session,
        consent_id: str,
        holder: str,
        *,
        grant: bool,
        fields: list[str] | None = None,
        valid_until: datetime | None = None,
        provenance: consents.Provenance = consents.Provenance(),  # noqa: B008 - frozen
    ) -> Consent:
        """A holder grants or declines; the exchange that asked moves on when all have answered.
        A grant lasts until ``valid_until``, by default the purpose's retention period."""
        consent = consents.get(session, consent_id, holder)
        now = self.clock()
        purpose = self.decider.bundle.purpose(consent.purpose) or {}
        default_end = now + timedelta(days=int(purpose.get("retention_days", 30)))
        consents.answer(
            consent,
            grant=grant,
            fields=fields,
            now=now,
            valid_until=valid_until or default_end,
            provenance=provenance,
        )
        child = session.get_one(Child, consent.child_id)
        actor = _holder_actor(holder)
        exchange = session.get(Exchange, consent.exchange_id) if consent.exchange_id else None
        self._record_consent(
            session,
            "consent.grant" if grant else "consent.decline",
            actor,
            consent,
            child,
            exchange,
        )
        if exchange is not None and exchange.status == S.AWAITING_CONSENT:
            session.flush()
            ruling = self._decide(session, exchange, child, now)
            decision = ruling.answer
            self._record_decision(session, "decision", actor, exchange, child, ruling)
            if decision.allow:
                self._move(exchange, S.AWAITING_DELIVERY)
                exchange.relied_consent_ids = list(decision.consents_relied)
            elif not decision.awaiting_consent:
                self._move(exchange, S.DENIED)
                exchange.status_reason = " ".join(decision.reasons)
            self._follow_obligations(session, exchange, decision)
        session.commit()
        return consent

    def give_standing_consent(
        self,
        session: Session,
        child: Child,
        holder: str,
        standing: consents.StandingConsent,
        *,
        provenance: consents.Provenance = consents.Provenance(),  # noqa: B008 - frozen
    ) -> Consent:
        """A consent given ahead of time (like Mitz): for one purpose, to a named organisation
        or every organisation of a role in some gemeenten, for chosen fields, until a date
        within the purpose's maximum. The policy counts it for each later exchange it covers.
        The caller has established that ``holder`` may consent for ``child``; this commits."""
        spec = self.decider.bundle.purpose(standing.purpose) or {}
        consent = consents.give_standing(
            session, child.id, holder, standing, spec, now=self.clock(), provenance=provenance
        )
        self._record_consent(session, "consent.grant", _holder_actor(holder), consent, child, None)
        session.commit()
        return consent

    def revoke_consent(
        self, session: Session, consent_id: str, holder: str, *, via: str | None = None
    ) -> Consent:
        """Revocation stops what has not been delivered and shreds what has not been fetched;
        a fetched exchange stays fetched (history is not rewritten) but its stored copy goes."""
        consent = consents.get(session, consent_id, holder)
        now = self.clock()
        consents.revoke(consent, now=now, via=via)
        child = session.get_one(Child, consent.child_id)
        actor = _holder_actor(holder)
        self._record_consent(session, "consent.revoke", actor, consent, child, None)
        for exchange in self._relying_on(session, consent):
            if exchange.status == S.FETCHED:
                self._shred(session, exchange, child, "consent revoked", actor)
            else:
                self._end(session, exchange, child, S.REVOKED, "consent revoked", actor)
        session.commit()
        return consent

    # --- maintenance -------------------------------------------------------------------------

    def run_maintenance(self, session: Session) -> MaintenanceReport:
        """Expire consents and exchanges that are due, shredding their payloads. Idempotent."""
        now = self.clock()
        report = MaintenanceReport()
        for consent in consents.due_to_expire(session, now):
            consent.status = ConsentStatus.EXPIRED
            child = session.get_one(Child, consent.child_id)
            self._record_consent(session, "consent.expire", MAINTENANCE_ACTOR, consent, child, None)
            report.consents_expired += 1
            for exchange in self._relying_on(session, consent):
                report.payloads_shredded += self._shreddable(exchange)
                if exchange.status == S.FETCHED:
                    self._shred(session, exchange, child, "consent expired", MAINTENANCE_ACTOR)
                else:
                    self._end(
                        session, exchange, child, S.EXPIRED, "consent expired", MAINTENANCE_ACTOR
                    )
                    report.exchanges_expired += 1
            session.commit()
        due = session.scalars(
            select(Exchange)
            .where(Exchange.status.in_(OPEN), Exchange.expires_at <= now)
            .order_by(Exchange.expires_at)
        )
        for exchange in due:
            child = session.get_one(Child, exchange.child_id)
            report.payloads_shredded += self._shreddable(exchange)
            self._end(
                session, exchange, child, S.EXPIRED, "retention period ended", MAINTENANCE_ACTOR
            )
            report.exchanges_expired += 1
            session.commit()
        return report

    def rewrap_keys(self, session: Session, batch: int = 500) -> int:
        """Re-wrap every live data key under the current master key (``gateway keys rotate``).
        Payloads are not touched; shredded ones have no key left to wrap."""
        current = self.keyring.current_id
        moved = 0
        while True:
            rows = list(
                session.scalars(
                    select(Payload)
                    .where(Payload.wrapped_key.is_not(None), Payload.key_id != current)
                    .limit(batch)
                )
            )
            if not rows:
                return moved
            for row in rows:
                assert row.key_id is not None and row.wrapped_key is not None
                wrapped = WrappedKey(row.key_id, row.wrapped_key)
                fresh = self.keyring.rewrap(wrapped, payload_context(row.exchange_id))
                row.key_id, row.wrapped_key = fresh.key_id, fresh.blob
            session.commit()
            moved += len(rows)

    # --- internals ---------------------------------------------------------------------------

    def _decide(
        self,
        session: Session,
        exchange: Exchange,
        child: Child,
        now: datetime,
        known: Iterable[Organisation] = (),
    ) -> Ruling[Decision]:
        """The policy's ruling on ``exchange`` now. ``known`` are parties already loaded (the
        session's identity map keeps only objects something else holds on to)."""
        rows = consents.relevant(
            session,
            exchange_id=exchange.id,
            relied=exchange.relied_consent_ids,
            child_id=child.id,
            purpose=exchange.purpose,
        )
        held = {organisation.id: organisation for organisation in known}
        parties = {
            party: held.get(party) or session.get_one(Organisation, party)
            for party in (exchange.source_id, exchange.recipient_id)
        }
        roles = {party: organisation.role for party, organisation in parties.items()}
        request = DecisionInput(
            purpose=exchange.purpose,
            initiator="source" if exchange.direction == Direction.OFFER else "recipient",
            source=Party(organisation_id=exchange.source_id, role=roles[exchange.source_id]),
            recipient=Party(
                organisation_id=exchange.recipient_id,
                role=roles[exchange.recipient_id],
                gemeente=parties[exchange.recipient_id].gemeente_code,
            ),
            requested_fields=list(exchange.requested_fields),
            requested_level=Level(exchange.requested_level) if exchange.requested_level else None,
            reason=exchange.reason,
            break_glass=(
                BreakGlass(justification=exchange.break_glass_justification)
                if exchange.break_glass_justification is not None
                else None
            ),
            subject=Subject(
                age=min(child.age_on(now.date()), 30),
                safety_code=child.safety_code,
                placement_confirmed=self._placement_confirmed(session, exchange),
                guardians=[
                    Guardian(
                        id=g.id,
                        gezag=g.gezag,
                        restricted=g.restricted,
                        accompanying=g.accompanying,
                    )
                    for g in children.guardians_of(session, child)
                ],
            ),
            consents=consents.as_facts(rows),
            now=now,
        )
        ruling = self.decider.rule(request)
        exchange.decision = ruling.document
        exchange.policy_version = ruling.policy_version
        return ruling

    def _decide_again(
        self, session: Session, exchange: Exchange, child: Child, actor: Actor, now: datetime
    ) -> Ruling[Decision]:
        """The decision at this moment; if it no longer allows the exchange, the exchange ends
        (on the record, committed) and the caller gets 403 with the reasons."""
        ruling = self._decide(session, exchange, child, now)
        if not ruling.answer.allow:
            self._stop(session, exchange, child, ruling, actor, now)
            session.commit()
            raise _denied(ruling.answer)
        return ruling

    def _placement_confirmed(self, session: Session, exchange: Exchange) -> bool:
        """Has the recipient offered this child a place (only asked where the purpose stages
        its disclosure)?"""
        purpose = self.decider.bundle.purpose(exchange.purpose) or {}
        if not purpose.get("full_requires_placement"):
            return False
        return bool(
            session.scalar(
                select(
                    exists().where(
                        Exchange.child_id == exchange.child_id,
                        Exchange.purpose == exchange.purpose,
                        Exchange.source_id == exchange.source_id,
                        Exchange.recipient_id == exchange.recipient_id,
                        Exchange.placement_confirmed_at.is_not(None),
                    )
                )
            )
        )

    def _follow_obligations(self, session: Session, exchange: Exchange, decision: Decision) -> None:
        for obligation in decision.obligations:
            if obligation.type == "await_consent" and obligation.holders:
                consents.propose(
                    session,
                    child_id=exchange.child_id,
                    purpose=exchange.purpose,
                    grantee_id=exchange.recipient_id,
                    exchange_id=exchange.id,
                    holders=obligation.holders,
                    fields=decision.fields,
                    level=(decision.level or Level.SIGNAL).value,
                )
            elif obligation.type == "inform_parents" and obligation.parties:
                consents.inform(
                    session,
                    child_id=exchange.child_id,
                    exchange_id=exchange.id,
                    holders=obligation.parties,
                )

    def _relying_on(self, session: Session, consent: Consent) -> list[Exchange]:
        query = select(Exchange).where(
            Exchange.child_id == consent.child_id,
            Exchange.purpose == consent.purpose,
            Exchange.status.in_(OPEN),
        )
        if consent.grantee_id is not None:  # a consent ahead of time may cover several
            query = query.where(Exchange.recipient_id == consent.grantee_id)
        candidates = session.scalars(query)
        return [
            e
            for e in candidates
            if consent.id in e.relied_consent_ids or e.id == consent.exchange_id
        ]

    def _stop(
        self,
        session: Session,
        exchange: Exchange,
        child: Child,
        ruling: Ruling[Decision],
        actor: Actor,
        now: datetime,
    ) -> None:
        """The policy no longer allows this exchange: end it, and say why in its record."""
        self._record_decision(session, "decision", actor, exchange, child, ruling)
        decision = ruling.answer
        relied = [session.get(Consent, cid) for cid in exchange.relied_consent_ids]
        if any(c is not None and c.status == ConsentStatus.REVOKED for c in relied):
            target, why = S.REVOKED, "consent revoked"
        elif any(c is not None and c.valid_until and c.valid_until <= now for c in relied):
            target, why = S.EXPIRED, "consent expired"
        else:
            target, why = S.DENIED, " ".join(decision.reasons)
        if exchange.status == S.FETCHED:
            self._shred(session, exchange, child, why, actor)
        else:
            self._end(session, exchange, child, target, why, actor)

    def _end(
        self,
        session: Session,
        exchange: Exchange,
        child: Child,
        target: ExchangeStatus,
        why: str,
        actor: Actor,
    ) -> None:
        self._move(exchange, target)
        exchange.status_reason = why
        action = {S.EXPIRED: "exchange.expire", S.WITHDRAWN: "exchange.withdraw"}.get(
            target, f"exchange.{target.value}"
        )
        self._record(
            session, action, actor, exchange, child, outcome="success", extra={"why": why[:200]}
        )
        self._shred(session, exchange, child, why, actor)

    def _shred(
        self, session: Session, exchange: Exchange, child: Child, why: str, actor: Actor
    ) -> None:
        payload = exchange.payload
        if payload is None or payload.shredded:
            return
        payload.wrapped_key = None
        payload.ciphertext = None
        payload.reactions = None
        payload.key_id = None
        payload.shredded_at = self.clock()
        payload.shred_reason = why[:64]
        self._record(
            session,
            "shred",
            actor,
            exchange,
            child,
            outcome="success",
            fields=list(payload.fields),
            extra={"why": why[:200]},
        )

    @staticmethod
    def _shreddable(exchange: Exchange) -> int:
        return int(exchange.payload is not None and not exchange.payload.shredded)

    @staticmethod
    def _move(exchange: Exchange, target: ExchangeStatus) -> None:
        check_transition(exchange.status, target)
        exchange.status = target

    def _purpose_uri(self, purpose: str) -> str | None:
        spec = self.decider.bundle.purpose(purpose)
        return str(spec["uri"]) if spec else None

    def _record_decision(
        self,
        session: Session,
        action: str,
        actor: Actor,
        exchange: Exchange,
        child: Child,
        ruling: Ruling[Decision],
    ) -> None:
        entry = decision_entry(action, actor, ruling, self._purpose_uri(exchange.purpose))
        entry = replace(
            entry,
            exchange_id=exchange.id,
            child_ref=store.child_reference(session, child.pseudonym),
        )
        self._keep(session, exchange, child, entry, ruling)

    def _keep(
        self,
        session: Session,
        exchange: Exchange,
        child: Child,
        entry: Entry,
        ruling: Ruling[Decision] | None,
    ) -> Appended:
        """Append ``entry``; with a ruling, committing to it and keeping it beside the entry."""
        if ruling is None:
            return record(session, entry)
        return recording.record_decision(
            session, self.decider.bundle, entry, ruling, exchange_id=exchange.id, child_id=child.id
        )

    def _record(
        self,
        session: Session,
        action: str,
        actor: Actor,
        exchange: Exchange,
        child: Child,
        *,
        outcome: str,
        fields: Iterable[str] = (),
        extra: dict[str, str] | None = None,
        ruling: Ruling[Decision] | None = None,
    ) -> Appended:
        decision = exchange.decision or {}
        return self._keep(
            session,
            exchange,
            child,
            Entry(
                action=action,
                actor=actor,
                outcome=outcome,
                child_ref=store.child_reference(session, child.pseudonym),
                purpose=exchange.purpose,
                processing_activity_id=self._purpose_uri(exchange.purpose),
                legal_basis=decision.get("basis"),
                fields=tuple(fields),
                level=decision.get("level"),
                policy_version=exchange.policy_version,
                exchange_id=exchange.id,
                requester_id=exchange.recipient_id,
                source_id=exchange.source_id,
                emergency=exchange.break_glass_justification is not None,
                extra=extra or {},
            ),
            ruling,
        )

    def _record_consent(
        self,
        session: Session,
        action: str,
        actor: Actor,
        consent: Consent,
        child: Child,
        exchange: Exchange | None,
    ) -> None:
        record(
            session,
            Entry(
                action=action,
                actor=actor,
                outcome="success",
                child_ref=store.child_reference(session, child.pseudonym),
                purpose=consent.purpose,
                processing_activity_id=self._purpose_uri(consent.purpose),
                legal_basis="consent",
                fields=tuple(consent.fields),
                level=consent.level,
                exchange_id=exchange.id if exchange else consent.exchange_id,
                requester_id=consent.grantee_id,
                subject=consent.id,
            ),
        )


def _holder_actor(holder: str) -> Actor:
    return Actor(type="user", id=holder, role="child" if holder == "child" else "guardian")


def payload_context(exchange_id: str) -> bytes:
    """Associated data that binds a sealed payload and its wrapped key to one exchange."""
    return f"kindkoppeling:payload:{exchange_id}".encode()


def _serialise(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()


def _denied(decision: Decision) -> ForbiddenError:
    return ForbiddenError(
        " ".join(decision.reasons) or "The policy no longer allows this exchange.",
        problem=DENIED_BY_POLICY,
        reasons=decision.reasons,
    )


def _reused() -> ValidationFailedError:
    error = ValidationFailedError(
        "This Idempotency-Key was already used for a different request.",
        errors=[{"parameter": "Idempotency-Key", "in": "header", "detail": "already used"}],
    )
    error.problem = IDEMPOTENCY_KEY_REUSED
    return error
