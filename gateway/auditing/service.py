"""Recording to the audit log, failing closed, and reading it back within someone's rights.

``record`` adds an entry to the caller's transaction: the action and its entry commit together
or not at all, and if the entry cannot be written the action does not happen (503). The entries
of a transaction are appended as its commit begins, after everything else it wrote has been
flushed and its commit handlers have run, in one sequencer step (``append_batch``). The append
locks the log's head row until the commit, the one step no two transactions of the whole
cluster can overlap in (ADR 0006), so as little as possible happens while it is held: the
entries, the rows that name them by index (a kept decision), and the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

import gateway.transactions  # noqa: F401 - its commit listener must come before this one
from audit import store
from audit.entry import Actor, Entry
from audit.note import Signer
from audit.store import Appended, EntryFilter
from gateway import tracing
from gateway.children.models import Child
from gateway.errors import ServiceUnavailableError, ValidationFailedError
from gateway.policy.decision import Decision, Ruling

log = structlog.get_logger(__name__)

CLI_ACTOR = Actor(type="system", id="gateway-cli")


class AuditUnavailableError(ServiceUnavailableError):
    def __init__(self) -> None:
        super().__init__(
            "The audit log could not be written, so nothing was done. Try again shortly.",
            headers={"Retry-After": "5"},
            check="audit",
        )


def organisation_actor(organisation_id: str, role: str) -> Actor:
    return Actor(type="organisation", id=organisation_id, role=role)


@dataclass(frozen=True)
class ActingFor:
    """An organisation's client acting on behalf of one of its staff members (RFC 8693)."""

    organisation_id: str
    staff_id: str
    staff_role: str


_acting_for: ContextVar[ActingFor | None] = ContextVar("acting_for", default=None)


@contextmanager
def acting_for(acting: ActingFor | None) -> Iterator[None]:
    """While this lasts, entries the organisation is the actor of name the staff member."""
    token = _acting_for.set(acting)
    try:
        yield
    finally:
        _acting_for.reset(token)


class Recorded:
    """An entry of the transaction, appended when it commits: its index and leaf hash are
    known from then on, and ``then`` is called with them before the commit completes."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.waiting: list[Callable[[Appended], None]] = []
        self._appended: Appended | None = None

    def then(self, action: Callable[[Appended], None]) -> None:
        """Call ``action`` with the entry's place in the log, in the same transaction."""
        self.waiting.append(action)

    @property
    def appended(self) -> Appended:
        if self._appended is None:
            raise RuntimeError("an audit entry has its place in the log once its action commits")
        return self._appended

    @property
    def index(self) -> int:
        return self.appended.index

    @property
    def leaf_hash(self) -> bytes:
        return self.appended.leaf_hash


def child_reference(session: Session, child: Child) -> str:
    """The reference the log names ``child`` by: as loaded with the child, or looked up (and
    made, the first time the log names the child)."""
    loaded = child.__dict__.get("log_reference")
    return loaded if loaded is not None else store.child_reference(session, child.pseudonym)


PENDING = "audit.pending"  # session.info: the transaction's entries, in the order recorded
FAILED = "audit.failed"  # session.info: their append failed; the transaction must roll back


def record(session: Session, entry: Entry) -> Recorded:
    """Add ``entry`` to the caller's transaction, to be appended when the caller commits. An
    entry without trace context gets the current one (:mod:`gateway.tracing`): the call's, the
    maintenance run's or the CLI command's. An entry whose actor is an organisation acting for
    a staff member (:func:`acting_for`) records the staff member as ``on_behalf_of``, and
    their role."""
    trace = tracing.current()
    if entry.trace_id is None and trace is not None:
        entry = replace(entry, trace_id=trace.trace_id, span_id=trace.span_id)
    acting = _acting_for.get()
    if (
        acting is not None
        and entry.on_behalf_of is None
        and entry.actor.type == "organisation"
        and entry.actor.id == acting.organisation_id
    ):
        extra = {**entry.extra, "staff_role": acting.staff_role}
        entry = replace(entry, on_behalf_of=acting.staff_id, extra=extra)
    recorded = Recorded(entry)
    session.info.setdefault(PENDING, []).append(recorded)
    return recorded


@event.listens_for(Session, "before_commit")
def _append_at_commit(session: Session) -> None:
    """Append the transaction's entries last: registered after the commit handlers of
    :mod:`gateway.transactions` (imported first, for that), so what they write is flushed
    before the head is locked, and what they record is appended too."""
    if session.info.get(FAILED):
        raise AuditUnavailableError()  # the transaction can only be rolled back now
    pending: list[Recorded] | None = session.info.get(PENDING)
    if not pending:
        return
    session.flush()  # everything else the transaction wrote, before the head is locked
    try:
        appended = store.append_batch(session, [p.entry for p in pending])
    except SQLAlchemyError as exc:
        # Never a commit without the entries: not this one, and not a later one of the same
        # transaction (an append half done cannot be tried again without a gap in the log).
        session.info[FAILED] = True
        actions = ",".join(sorted({p.entry.action for p in pending}))
        log.error("audit_append_failed", actions=actions, error=type(exc).__name__)
        raise AuditUnavailableError() from exc
    del session.info[PENDING]
    for recorded, place in zip(pending, appended, strict=True):
        recorded._appended = place
        for action in recorded.waiting:
            action(place)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed, rolled back or closed: nothing waits
        session.info.pop(PENDING, None)
        session.info.pop(FAILED, None)


def checkpoint(session: Session, signer: Signer) -> str:
    """The latest signed checkpoint, signing a new one if the log has grown since."""
    note = store.publish_checkpoint(session, signer, signer.name)
    session.commit()
    return note


# Audit entries name children by 32 hex digits; this is never one. A search for a child the log
# never named filters on it, and finds nothing.
NO_SUCH_CHILD = "-"


@dataclass(frozen=True)
class EntryPage:
    items: list[dict[str, Any]]
    total: int


def read_entries(
    session: Session, reader: Actor, where: EntryFilter, *, offset: int, limit: int
) -> EntryPage:
    """Entries ``where`` selects, and the read itself recorded as ``audit.read``: who read, about
    which child, with which filters (their names, not their values) and how many came back."""
    rows, total = store.find_entries(session, where, offset=offset, limit=limit)
    filters = ",".join(
        name
        for name, value in vars(where).items()
        if value is not None and name not in {"visible_to", "actor_id"}
    )
    _record_read(
        session,
        reader,
        None if where.child_ref == NO_SUCH_CHILD else where.child_ref,
        {"returned": str(len(rows)), "offset": str(offset), "filters": filters},
    )
    return EntryPage(
        items=[
            {
                "index": row.idx,
                "leaf": bytes(row.leaf),
                "leaf_hash": bytes(row.leaf_hash),
                "entry": json.loads(row.leaf),
            }
            for row in rows
        ],
        total=total,
    )


# What a parent's access history shows: data leaving the source, reaching the recipient, being
# destroyed, and the consents given, declined and revoked.
DISCLOSURE_ACTIONS = frozenset(
    {"delivery", "fetch", "shred", "consent.grant", "consent.decline", "consent.revoke"}
)
HISTORY_LIMIT = 1000


def access_history(session: Session, child_pseudonym: str, reader: Actor) -> list[dict[str, Any]]:
    """Who received or saw what about one child, when and on which basis (AVG art. 15), newest
    first; the read itself is recorded. The caller has established that ``reader`` may see it."""
    ref = store.child_reference(session, child_pseudonym)
    where = EntryFilter(child_ref=ref)
    rows, total = store.find_entries(session, where, limit=HISTORY_LIMIT)
    if total > HISTORY_LIMIT:  # the newest ones
        rows, _ = store.find_entries(
            session, where, offset=total - HISTORY_LIMIT, limit=HISTORY_LIMIT
        )
    history = [
        entry
        for entry in (json.loads(row.leaf) for row in reversed(rows))
        if entry["action"] in DISCLOSURE_ACTIONS
    ]
    _record_read(session, reader, ref, {"view": "access_history", "returned": str(len(history))})
    return history


def _record_read(
    session: Session, reader: Actor, child_ref: str | None, extra: dict[str, str]
) -> None:
    """Every read of the log is itself on the log (committed with nothing else)."""
    record(
        session,
        Entry(
            action="audit.read", actor=reader, outcome="success", child_ref=child_ref, extra=extra
        ),
    )
    session.commit()


def decision_entry(
    action: str,
    actor: Actor,
    ruling: Ruling[Decision],
    processing_activity_id: str | None,
) -> Entry:
    """An entry for a policy decision: names, level, outcome and reasons; never values."""
    decision, request = ruling.answer, ruling.input
    if decision.allow:
        outcome = "allowed"
    elif decision.awaiting_consent:
        outcome = "awaiting_consent"
    else:
        outcome = "denied"
    return Entry(
        action=action,
        actor=actor,
        outcome=outcome,
        purpose=decision.purpose if processing_activity_id else None,
        processing_activity_id=processing_activity_id,
        legal_basis=decision.basis.value if decision.basis else None,
        fields=tuple(decision.fields),
        level=decision.level.value if decision.level else None,
        reasons=tuple(decision.reasons),
        policy_version=decision.policy_version,
        requester_id=request["recipient"]["organisation_id"],
        source_id=request["source"]["organisation_id"],
        emergency=request.get("break_glass") is not None,
        extra={"stripped_count": str(len(decision.stripped))},
    )


def proof_sizes_error(detail: str, parameter: str) -> ValidationFailedError:
    return ValidationFailedError(
        detail, errors=[{"parameter": parameter, "in": "query", "detail": detail}]
    )
