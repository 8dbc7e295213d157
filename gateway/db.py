"""Database engine, sessions and the declarative base shared by every domain's models.

The same models and migrations run on SQLite (the embedded default) and PostgreSQL; anything
dialect-specific is kept here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any, ClassVar, cast

from sqlalchemy import (
    CursorResult,
    DateTime,
    Delete,
    Engine,
    MetaData,
    Update,
    create_engine,
    event,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from gateway import transactions

# Stable constraint names, so Alembic migrations are the same on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every dialect (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[StrEnum], length: int = 16) -> SAEnum:
    """A string column holding a StrEnum's values, with the CHECK constraint left to the model."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    # hide_parameters: a database error's message must not carry the statement's values into
    # the logs (they can be free text an organisation sent, or a child's pseudonym).
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect.loaded_dbapi.Error))
    return engine


# A server can drop a connection that sat idle (a restart, a firewall's idle timeout); a SQLite
# file cannot. Rather than a round trip before every request (pool_pre_ping), a connection is
# pinged only when it comes out of the pool after resting longer than this. A connection the
# server dropped while in use makes SQLAlchemy invalidate the whole pool, so one request gets
# a 503 and the next ones fresh connections (tests/reliability/test_outages.py).
IDLE_BEFORE_PING = 10.0  # seconds


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["rested_since"] = time.monotonic()


def _ping_if_idle(
    driver_error: type[Exception], dbapi_connection: Any, record: Any, _proxy: Any
) -> None:
    rested_since = record.info.get("rested_since")
    if rested_since is None or time.monotonic() - rested_since < IDLE_BEFORE_PING:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except driver_error as exc:  # this connection is gone
        raise DisconnectionError() from exc  # the pool takes another one


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Overwrite deleted content with zeros, so a shredded data key does not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def change_once(session: Session, statement: Delete | Update, gone: Exception) -> None:
    """Run a DELETE or UPDATE of a row that a concurrent request may have deleted or changed
    first (both looked, saw it, and went on); when it changes nothing, raise ``gone``, so this
    request answers as if it had looked a moment later and keeps nothing (its audit entry
    neither)."""
    result = cast("CursorResult[Any]", session.execute(statement))
    if result.rowcount == 0:
        raise gone


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    """Sessions on ``engine``. Every session writes the webhook outbox and the e-mail notices
    with the actions it commits (gateway.transactions), so their handlers must be registered
    first, by the entry point (gateway.wiring)."""
    if not transactions.registered():
        raise RuntimeError(
            "No commit handlers are registered: call "
            "gateway.wiring.register_commit_handlers() before making sessions."
        )
    return sessionmaker(bind=engine, expire_on_commit=False)
