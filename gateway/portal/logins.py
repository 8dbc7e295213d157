"""Portal logins the gateway can end.

The session cookie is signed, not stored: on its own it stays good until it expires, also after
"Uitloggen" and in any copy of it. So every login also gets a row here, named by the SHA-256 of
a random id that only the cookie carries. A cookie whose row is gone is no login. Logging out
deletes the row; a login lasts at most ``LOGIN_LIFETIME`` from the moment it began, however
active it is; maintenance deletes the rows past that.

The row also keeps the login's ID token, for the ``id_token_hint`` of RP-Initiated Logout. An ID
token may carry the person's claims (a broker may put the BSN in it), so it is sealed with
AES-GCM under a key derived from the cookie's id: the database alone cannot open it, and the
cookie alone does not hold it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import CursorResult, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, utcnow

LOGIN_LIFETIME = timedelta(hours=8)  # a working day


class PortalLogin(Base):
    __tablename__ = "portal_logins"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    sealed_id_token: Mapped[bytes | None] = mapped_column(LargeBinary)


def start(session: Session, id_token: str | None = None) -> str:
    """A new login, keeping its ID token sealed; returns the id for the cookie. The caller
    commits."""
    login_id = secrets.token_urlsafe(32)
    sealed = None
    if id_token is not None:
        nonce = secrets.token_bytes(12)
        sealed = nonce + AESGCM(_sealing_key(login_id)).encrypt(nonce, id_token.encode(), None)
    session.add(PortalLogin(id_hash=_hash(login_id), started_at=utcnow(), sealed_id_token=sealed))
    return login_id


def is_live(session: Session, login_id: str) -> bool:
    started = session.scalar(
        select(PortalLogin.started_at).where(PortalLogin.id_hash == _hash(login_id))
    )
    return started is not None and started > utcnow() - LOGIN_LIFETIME


def end(session: Session, login_id: str) -> str | None:
    """End a login (logging out); returns its ID token, if it kept one. The caller commits."""
    sealed = session.scalar(
        delete(PortalLogin)
        .where(PortalLogin.id_hash == _hash(login_id))
        .returning(PortalLogin.sealed_id_token)
    )
    if not sealed:
        return None
    try:
        return AESGCM(_sealing_key(login_id)).decrypt(sealed[:12], sealed[12:], None).decode()
    except InvalidTag:
        return None


def purge(session: Session) -> int:
    """Delete the logins past their lifetime; returns how many. The caller commits."""
    ended = delete(PortalLogin).where(PortalLogin.started_at <= utcnow() - LOGIN_LIFETIME)
    return cast("CursorResult[Any]", session.execute(ended)).rowcount


def _sealing_key(login_id: str) -> bytes:
    derive = HKDF(hashes.SHA256(), length=32, salt=None, info=b"kindkoppeling id_token_hint")
    return derive.derive(login_id.encode())


def _hash(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()
