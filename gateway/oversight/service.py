"""The privacy officer's work: the break-glass review queue, denied requests, the integrity of
the log, exchanges per purpose per week, and an exchange's kept decisions, replayed on demand.

An organisation's officer sees what involves their organisation (as requester or source); the
gateway's own officer sees everything (``organisation_id=None`` below). A review is an audited
action: the review and its entry commit together.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from audit import store
from audit.checkpoint import Checkpoint
from audit.entry import Actor, Entry
from audit.note import NoteError, Signer
from gateway.auditing.service import child_reference, record
from gateway.children.models import Child
from gateway.decisions.models import DecisionRecord
from gateway.decisions.replay import Replayed, Replayer, records
from gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.oversight.models import BreakGlassReview

NOTE_MAX = 2000
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Officer:
    login_ref: str
    organisation_id: str
    sees_all: bool

    @property
    def scope(self) -> str | None:
        """The organisation whose records this officer sees, or None for all."""
        return None if self.sees_all else self.organisation_id

    @property
    def actor(self) -> Actor:
        return Actor(type="user", id=self.login_ref, role="privacy_officer")


def _visible(query: Select[*Ts], officer: Officer) -> Select[*Ts]:
    """``query`` over exchanges, narrowed to those the officer's organisation is a party to."""
    if officer.scope is None:
        return query
    return query.where(
        or_(Exchange.source_id == officer.scope, Exchange.recipient_id == officer.scope)
    )


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def unreviewed(officer: Officer | None) -> Select[Exchange]:
    """Break-glass exchanges not yet reviewed: those ``officer`` sees, or all (None)."""
    query = (
        select(Exchange)
        .outerjoin(BreakGlassReview, BreakGlassReview.exchange_id == Exchange.id)
        .where(
            Exchange.break_glass_justification.is_not(None), BreakGlassReview.exchange_id.is_(None)
        )
    )
    return query if officer is None else _visible(query, officer)


def break_glass_queue(session: Session, officer: Officer) -> list[Exchange]:
    """Break-glass exchanges nobody has reviewed yet, the first due first."""
    query = unreviewed(officer).order_by(Exchange.break_glass_review_due, Exchange.created_at)
    return list(session.scalars(query))


def pending_reviews(session: Session, officer: Officer) -> int:
    return _count(session, unreviewed(officer))


def overdue_reviews(session: Session, officer: Officer | None, now: datetime) -> int:
    """Unreviewed break-glass exchanges whose review was due before ``now`` (that ``officer``
    sees; all of them for None)."""
    return _count(session, unreviewed(officer).where(Exchange.break_glass_review_due < now))


def reviews(session: Session, officer: Officer, limit: int = 50) -> list[BreakGlassReview]:
    query = (
        select(BreakGlassReview)
        .join(Exchange, Exchange.id == BreakGlassReview.exchange_id)
        .order_by(BreakGlassReview.reviewed_at.desc())
        .limit(limit)
    )
    return list(session.scalars(_visible(query, officer)))


def review_break_glass(
    session: Session, officer: Officer, exchange_id: str, note: str
) -> BreakGlassReview:
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise ValidationFailedError(
            f"Schrijf een toelichting van 1 tot {NOTE_MAX} tekens.",
            errors=[{"pointer": "#/note", "detail": f"1 to {NOTE_MAX} characters"}],
        )
    exchange = session.scalar(_visible(select(Exchange).where(Exchange.id == exchange_id), officer))
    if exchange is None or exchange.break_glass_justification is None:
        raise NotFoundError("Er is geen break-glass-uitwisseling met dit nummer voor u.")
    if session.get(BreakGlassReview, exchange_id) is not None:
        raise ConflictError("Deze uitwisseling is al beoordeeld.")
    review = BreakGlassReview(
        exchange_id=exchange.id,
        reviewer=officer.login_ref,
        organisation_id=officer.organisation_id,
        note=note,
    )
    session.add(review)
    _record_about(session, officer, exchange, "break_glass.review", "success", {})
    return review


def visible_exchange(session: Session, officer: Officer, exchange_id: str) -> Exchange:
    """One exchange the officer's organisation is a party to (any, for the gateway's officer)."""
    exchange = session.scalar(_visible(select(Exchange).where(Exchange.id == exchange_id), officer))
    if exchange is None:
        raise NotFoundError("Er is geen uitwisseling met dit nummer voor u.")
    return exchange


def kept_decisions(session: Session, officer: Officer, exchange: Exchange) -> list[DecisionRecord]:
    """The kept decisions of the exchange, oldest first; the read is on the record."""
    rows = list(session.scalars(records(exchange_id=exchange.id)))
    _record_about(
        session, officer, exchange, "decision.read", "success", {"decisions": str(len(rows))}
    )
    return rows


def replay_decisions(session: Session, officer: Officer, exchange: Exchange) -> list[Replayed]:
    """Re-evaluate every kept decision of the exchange under its own bundle; the replay is on
    the record (``decision.replay``: identical or different, and how many)."""
    rows = session.scalars(records(exchange_id=exchange.id)).all()
    results = list(Replayer(session).replay(rows))
    different = sum(not r.identical for r in results)
    _record_about(
        session,
        officer,
        exchange,
        "decision.replay",
        "identical" if different == 0 else "different",
        {"decisions": str(len(results)), "different": str(different)},
    )
    return results


def _record_about(
    session: Session,
    officer: Officer,
    exchange: Exchange,
    action: str,
    outcome: str,
    extra: dict[str, str],
) -> None:
    """An officer's action on one exchange, on the record (committed with what it changed)."""
    child = session.get_one(Child, exchange.child_id)
    record(
        session,
        Entry(
            action=action,
            actor=officer.actor,
            on_behalf_of=officer.organisation_id,
            outcome=outcome,
            child_ref=child_reference(session, child),
            purpose=exchange.purpose,
            exchange_id=exchange.id,
            requester_id=exchange.recipient_id,
            source_id=exchange.source_id,
            emergency=exchange.break_glass_justification is not None,
            extra=extra,
        ),
    )
    session.commit()


def _denied(officer: Officer) -> Select[Exchange]:
    return _visible(select(Exchange).where(Exchange.status == ExchangeStatus.DENIED), officer)


def denied(session: Session, officer: Officer, limit: int = 100) -> list[Exchange]:
    """The most recent denied exchanges."""
    query = _denied(officer).order_by(Exchange.created_at.desc()).limit(limit)
    return list(session.scalars(query))


def denied_count(session: Session, officer: Officer) -> int:
    return _count(session, _denied(officer))


@dataclass(frozen=True)
class Integrity:
    tree_size: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    signature_valid: bool
    root_matches: bool

    @property
    def ok(self) -> bool:
        return self.checkpoint_size is None or (self.signature_valid and self.root_matches)


def integrity(session: Session, signer: Signer) -> Integrity:
    """Does the latest signed checkpoint verify, and does its root match the stored tree?
    (The full recomputation of every leaf is ``gateway audit verify``.)"""
    size = store.tree_size(session)
    note = store.latest_checkpoint(session)
    if note is None:
        return Integrity(size, None, None, signature_valid=True, root_matches=True)
    try:
        checkpoint = Checkpoint.verify(note, signer.verifiers, signer.name)
    except NoteError:
        return Integrity(size, None, None, signature_valid=False, root_matches=False)
    matches = checkpoint.tree_size <= size and (
        checkpoint.tree_size == 0
        or store.root(session, checkpoint.tree_size) == checkpoint.root_hash
    )
    return Integrity(
        size,
        checkpoint.tree_size,
        store.checkpoint_time(session, checkpoint.tree_size),
        True,
        matches,
    )


@dataclass(frozen=True)
class WeeklyCounts:
    weeks: list[date]  # Mondays, oldest first
    purposes: list[str]
    counts: dict[tuple[date, str], int]

    def total(self, week: date) -> int:
        return sum(n for (w, _), n in self.counts.items() if w == week)

    @property
    def largest(self) -> int:
        return max(self.counts.values(), default=0)


def weekly_counts(session: Session, officer: Officer, today: date, weeks: int = 8) -> WeeklyCounts:
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, datetime.min.time()).astimezone()
    query = _visible(
        select(Exchange.purpose, Exchange.created_at).where(Exchange.created_at >= since), officer
    )
    counts: Counter[tuple[date, str]] = Counter()
    for purpose, created in session.execute(query):
        day = created.date()
        counts[(day - timedelta(days=day.weekday()), purpose)] += 1
    return WeeklyCounts(
        weeks=[first + timedelta(weeks=i) for i in range(weeks)],
        purposes=sorted({p for _, p in counts}),
        counts=dict(counts),
    )
