"""One holder at a time for a job, across processes and replicas on one database: a lease row.

``acquire`` takes the job's lease when nobody runs the job (no lease, or one that has run out),
with one conditional UPDATE: on PostgreSQL the row lock makes a second replica's UPDATE wait and
then find the lease taken; on SQLite the write lock does. A periodic job also asks that it did
not start within ``not_since`` (a little less than its interval), so every replica's timer may
tick but the job runs once per interval; a one-off run asks only that it is not running. The
lease is released when the run ends; a holder that dies lets it run out. Hand-written: it is
two statements, and a PostgreSQL advisory lock would not work on SQLite, the embedded default.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import String, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base

# Who this process is, in the lease table: host, process id and a random part (a restarted
# process with a reused pid is someone else).
HOLDER = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class JobLease(Base):
    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    until: Mapped[datetime]  # the running lease; in the past when nobody runs the job
    last_started: Mapped[datetime | None] = mapped_column(default=None)


def acquire(
    session: Session,
    name: str,
    now: datetime,
    duration: timedelta,
    *,
    not_since: timedelta | None = None,
    holder: str = HOLDER,
) -> bool:
    """Take the lease of job ``name`` until ``now + duration`` (at most: ``release`` ends it);
    commits. False when someone runs the job, or (``not_since``) it started that recently."""
    if session.get(JobLease, name) is None:
        try:
            with session.begin_nested():
                session.add(JobLease(name=name, holder="", until=now - duration))
        except IntegrityError:
            pass  # another process made the row first
    conditions = [JobLease.name == name, JobLease.until <= now]
    if not_since is not None:
        conditions.append(
            or_(JobLease.last_started.is_(None), JobLease.last_started <= now - not_since)
        )
    taken = session.execute(
        update(JobLease)
        .where(*conditions)
        .values(holder=holder, until=now + duration, last_started=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(taken, "rowcount", 0))


def release(session: Session, name: str, now: datetime, holder: str = HOLDER) -> None:
    """The run is over: the lease ends now (the start time stays, for ``not_since``)."""
    session.rollback()  # whatever the run left open is not part of this
    session.execute(
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(until=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def holder_of(session: Session, name: str, now: datetime) -> str | None:
    """Who runs the job now, if anyone."""
    lease = session.get(JobLease, name)
    return lease.holder if lease is not None and lease.until > now else None
