"""Portal logins the gateway can end.

The session cookie is signed, not stored: on its own it stays good until it expires, also after
"Uitloggen" and in any copy of it. So every login also gets a row here, named by the SHA-256 of
a random id that only the cookie carries. A cookie whose row is gone is no login. Logging out
deletes the row; a login lasts at most ``LOGIN_LIFETIME`` from the moment it began, however
active it is; maintenance deletes the rows past that.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, utcnow

LOGIN_LIFETIME = timedelta(hours=8)  # a working day


class PortalLogin(Base):
    __tablename__ = "portal_logins"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)


def start(session: Session) -> str:
    """A new login; returns the id for the cookie. The caller commits."""
    login_id = secrets.token_urlsafe(32)
    session.add(PortalLogin(id_hash=_hash(login_id), started_at=utcnow()))
    return login_id


def is_live(session: Session, login_id: str) -> bool:
    started = session.scalar(
        select(PortalLogin.started_at).where(PortalLogin.id_hash == _hash(login_id))
    )
    return started is not None and started > utcnow() - LOGIN_LIFETIME


def end(session: Session, login_id: str) -> None:
    """End a login (logging out). The caller commits."""
    session.execute(delete(PortalLogin).where(PortalLogin.id_hash == _hash(login_id)))


def purge(session: Session) -> int:
    """Delete the logins past their lifetime; returns how many. The caller commits."""
    ended = delete(PortalLogin).where(PortalLogin.started_at <= utcnow() - LOGIN_LIFETIME)
    return cast("CursorResult[Any]", session.execute(ended)).rowcount


def _hash(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()
