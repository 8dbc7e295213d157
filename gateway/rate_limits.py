"""Rate limits shared by every process and replica on one database: a sliding window counted in
the database the deployment already has (PostgreSQL; SQLite for the embedded default).

API calls are counted per authenticated organisation (and per privacy officer); the token
endpoint per remote address instead: its caller is not authenticated yet, and counting a
*claimed* client id would let anyone exhaust another organisation's budget. An exhausted window
is a 429 problem+json with ``Retry-After``.

A process takes hits from the counter of the current fixed window in blocks: an upsert that
adds a block and returns the new count (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, one short
transaction of its own, so no row lock outlives the statement), then serves that many hits from
memory; it reads the previous window's count once per window. The estimate ``previous * (share
of the window still to come) + current`` is the sliding window of Cloudflare's counters, within a
few per cent of an exact log at the cost of two rows per key. A block is a fiftieth of the limit
(at least one hit), so a busy client costs one write per block; the price is that each other
process may hold part of a block it has not used yet, so in a window a client may get up to that
many requests more or fewer than the limit (a limit below 100 counts every hit exactly).

A refused request uses none of the allowance: a client that retries without waiting is still
let through at the limit's pace. ``Retry-After`` is the time at which the same request fits
the sliding window again (with no other requests meanwhile), so a client that waits it gets
through. The
``limits`` library parses the limits; its storages are memory, Redis and the like, not SQL,
hence this small counter.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from limits import RateLimitItem, parse
from sqlalchemy import BigInteger, Engine, Integer, String, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from gateway.db import Base, make_engine
from gateway.errors import TOO_MANY_REQUESTS, GatewayError

BLOCK_SHARE = 50  # a block of hits is this share of the limit
MAX_HELD = 10_000  # keys a process keeps blocks for before it forgets past windows


class RateCounter(Base):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # Unix seconds
    hits: Mapped[int] = mapped_column(Integer)


class RateLimitedError(GatewayError):
    problem = TOO_MANY_REQUESTS


class RateLimiter:
    def __init__(self, limit: str, engine: Engine, name: str) -> None:
        self.limit: RateLimitItem = parse(limit)
        self.engine = engine
        self.name = name
        self.seconds = self.limit.get_expiry()
        self.block = max(1, self.limit.amount // BLOCK_SHARE)
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._take_block = (
            insert(RateCounter)
            .values(hits=self.block)
            .on_conflict_do_update(
                index_elements=[RateCounter.key, RateCounter.window_start],
                set_={"hits": RateCounter.hits + self.block},
            )
            .returning(RateCounter.hits)
        )
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def hit(self, *key: str) -> None:
        """Count one request for ``key``; raise 429 when its window is full."""
        self._count(key, take=True)

    def hit_held(self, *key: str) -> bool:
        """:meth:`hit` from the block this process holds, without I/O; False (nothing counted)
        when a block must be taken first, which :meth:`hit` does with a write."""
        return self._count(key, take=False)

    async def hit_async(self, *key: str) -> None:
        """:meth:`hit` on the event loop: a write, when one is due, runs in the thread pool."""
        if not self.hit_held(*key):
            await run_in_threadpool(self.hit, *key)

    def _count(self, key: tuple[str, ...], *, take: bool) -> bool:
        """Count one request from the held block, taking a new one first if ``take`` (else
        False when one is due); raise 429 when the window is full."""
        now = time.time()
        window = int(now // self.seconds) * self.seconds
        name = "/".join((self.name, *key))[:200]
        with self._lock:
            held = self._held.get(name)
            spent = held is not None and held.window == window and held.used >= held.taken
            # A request refused on what this process already knows takes no new block: taking
            # one would count a hit that no request used, and the next window would inherit it.
            wait = (
                self._wait(now, window, held.previous, held.before + held.taken + 1)
                if held is not None and spent
                else None
            )
            if wait is None:
                if held is None or held.window != window or held.used >= held.taken:
                    if not take:
                        return False
                    held = self._take(name, window, held)
                held.used += 1
                wait = self._wait(now, window, held.previous, held.before + held.used)
                if wait is not None:
                    held.used -= 1  # refused: it uses none of the allowance
        if wait is not None:
            retry_after = max(1, math.ceil(wait))
            raise RateLimitedError(
                f"Too many requests: the limit is {self.limit}. Try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            )
        return True

    def _wait(self, now: float, window: int, previous: int, current: int) -> float | None:
        """None when a request that makes the window's count ``current`` fits the sliding
        window now; else the seconds until it would. The estimate is ``previous * (share of
        the window to come) + current``; it falls as the window goes on, and in the next window
        this one's count becomes the previous."""
        limit, seconds = self.limit.amount, self.seconds
        if previous * (1 - (now - window) / seconds) + current <= limit:
            return None
        if current <= limit:  # fits once enough of the previous window has slid out
            fits_at = window + seconds * (1 - (limit - current) / previous)
        else:  # only in the next window, as its first request
            fits_at = window + seconds + seconds * max(0.0, 1 - (limit - 1) / (current - 1))
        return fits_at - now

    def _take(self, name: str, window: int, held: _Held | None) -> _Held:
        """A block of hits from the shared counter (and, once per window, the previous count)."""
        with self.engine.begin() as connection:
            total = connection.execute(
                self._take_block.values(key=name, window_start=window)
            ).scalar_one()
            if held is not None and held.window == window:
                previous = held.previous
            else:
                found = connection.execute(
                    select(RateCounter.hits).where(
                        RateCounter.key == name, RateCounter.window_start == window - self.seconds
                    )
                ).scalar_one_or_none()
                previous = found or 0
        if len(self._held) > MAX_HELD:
            self._held = {k: v for k, v in self._held.items() if v.window == window}
        taken = _Held(window, before=total - self.block, taken=self.block, previous=previous)
        self._held[name] = taken
        return taken


@dataclass
class _Held:
    """A block of hits this process took from the shared counter of one window."""

    window: int
    before: int  # the window's count when the block was taken, without it
    taken: int
    previous: int  # the previous window's count, read once
    used: int = 0


class RateLimits:
    """The gateway's two limits, built from settings once per application."""

    def __init__(self, api: str, token: str, engine: Engine) -> None:
        self.engine = counting_engine(engine)
        self.api = RateLimiter(api, self.engine, "api")
        self.token = RateLimiter(token, self.engine, "token")

    def close(self) -> None:
        if self.engine.dialect.name == "sqlite":  # an engine of its own
            self.engine.dispose()

    def officer(self, officer_id: str) -> None:
        """Count one read by a privacy officer against the API limit, on a key of their own
        (apart from their organisation's clients), which their portal pages and their reads of
        the audit API share."""
        self.api.hit("officer", officer_id)


def counting_engine(engine: Engine) -> Engine:
    """The engine counters are written through. On SQLite, connections of their own that do not
    wait for the disk at each commit (``synchronous=OFF``): a count lost to a power cut is
    harmless, and every other write keeps its full durability on its own connections."""
    if engine.dialect.name != "sqlite":
        return engine
    own = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(own, "connect", _no_sync)
    return own


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def purge(session: Session, older_than: datetime) -> int:
    """Drop the counters of windows that ended before ``older_than`` (maintenance)."""
    cutoff = int(older_than.astimezone(UTC).timestamp())
    result = session.execute(delete(RateCounter).where(RateCounter.window_start < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
