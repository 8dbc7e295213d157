"""What a transaction wrote, handed to whoever asked just before it commits.

Work that must commit with an action, whichever code path took it (the webhook outbox, the
e-mail notices), registers with :func:`on_commit` for the classes it follows. Every flush notes
each such object the transaction creates (status before: ``NEW``) or whose ``status`` it changes
(the status before the transaction: the first sighting counts); just before the commit the
handler gets the objects with that earlier status, and what it adds to the session commits with
them. A rolled-back or closed transaction forgets what it noted: nothing happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Session, SessionTransaction

NEW = None  # the "status before" of an object the transaction created
NOTED = "transactions.noted"  # session.info: {(class, id): (object, status before)}

Seen = list[tuple[Any, Any]]  # (object, its status before the transaction, or NEW)
Handler = Callable[[Session, Seen], None]

_handlers: list[tuple[tuple[type, ...], Handler]] = []


def on_commit(*classes: type) -> Callable[[Handler], Handler]:
    """Call the decorated handler before each commit with the objects of ``classes`` the
    transaction created or changed the status of."""

    def register(handler: Handler) -> Handler:
        if (classes, handler) not in _handlers:
            _handlers.append((classes, handler))
        return handler

    return register


def registered() -> bool:
    """Whether any handler follows commits (the entry points register them)."""
    return bool(_handlers)


def _note(session: Session) -> None:
    followed = tuple(c for classes, _ in _handlers for c in classes)
    noted: dict[tuple[type, int], tuple[Any, Any]] = session.info.setdefault(NOTED, {})
    for obj in (*session.new, *session.dirty):
        key = (type(obj), id(obj))
        if not isinstance(obj, followed) or key in noted:
            continue
        state: InstanceState[Any] = inspect(obj)
        if state.pending:
            noted[key] = (obj, NEW)
        elif "status" in state.attrs:
            status = state.attrs.status
            if status.history.has_changes():
                deleted = status.history.deleted
                noted[key] = (obj, deleted[0] if deleted else status.value)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _note(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _note(session)  # what changed since the last flush
    noted = session.info.pop(NOTED, None)
    if not noted:
        return
    with session.no_autoflush:
        for classes, handler in _handlers:
            seen = [(obj, before) for obj, before in noted.values() if isinstance(obj, classes)]
            if seen:
                handler(session, seen)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed, rolled back or closed
        session.info.pop(NOTED, None)
