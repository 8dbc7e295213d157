"""How long a create holds the audit log's head row on PostgreSQL: the cluster's one serialised
step, and so the bound on how far replicas can scale out.

Every append increments the log head's ``size`` (``UPDATE audit_head ... RETURNING size``); the
row stays locked until the transaction commits, so no two appends in the whole cluster overlap
there. Subject: the time from that statement's return to the end of the commit, for each create
(``POST /api/v1/exchanges``, the verzuimmelding of ``exchange_api.py``) on a gateway served by
uvicorn over loopback on PostgreSQL, one keep-alive client; p50 and p99. Floor: the time of the
whole create as the client sees it, in the same run. Whatever the number of replicas, the
cluster cannot append more than 1 / (lock held) creates a second; the target is that this
ceiling is at least four times what one process does (the lock held for at most a quarter of a
create), so the lock is not what stops a second, third or fourth replica. Exits non-zero below.

Scale-out itself is not measured on this two-core machine (issue 34): the load generator and
PostgreSQL take the second process's CPU. ``tests/reliability/test_scale_out.py`` keeps two
processes correct together. Needs PostgreSQL: ``GATEWAY_TEST_POSTGRES_URL`` (``scripts/postgres``
prints one).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from benchmarks.exchange_api import creating_client
from gateway.logs import configure_logging
from tests.conftest import migrated_database

TARGET = 4.0  # the lock's ceiling on the cluster, over one process's rate
SECONDS = 10.0


@contextmanager
def head_lock_times(engine: Engine) -> Iterator[list[float]]:
    """The seconds each transaction on ``engine`` held the log head, from the increment to the
    end of its commit (both in the thread that runs the transaction)."""
    held: list[float] = []
    locked = threading.local()

    def after_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE AUDIT_HEAD"):
            locked.since = time.perf_counter()

    def after_commit(session: Session) -> None:
        since = getattr(locked, "since", None)
        if since is not None and session.get_bind() is engine:
            held.append(time.perf_counter() - since)
            locked.since = None

    event.listen(engine, "after_cursor_execute", after_statement)
    event.listen(Session, "after_commit", after_commit)
    try:
        yield held
    finally:
        event.remove(engine, "after_cursor_execute", after_statement)
        event.remove(Session, "after_commit", after_commit)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    if not os.environ.get("GATEWAY_TEST_POSTGRES_URL"):
        print("GATEWAY_TEST_POSTGRES_URL is needed: scripts/postgres prints one", file=sys.stderr)
        return 2
    configure_logging("WARNING")
    with (
        tempfile.TemporaryDirectory() as tmp,
        migrated_database("postgresql", Path(tmp)) as url,
        creating_client(database_url=url) as (create, _, app),
    ):
        for _ in range(50):  # warm up
            create()
        creates: list[float] = []
        with head_lock_times(app.state.engine) as held:
            started = time.perf_counter()
            while time.perf_counter() - started < SECONDS:
                began = time.perf_counter()
                create()
                creates.append(time.perf_counter() - began)
    if len(held) != len(creates):
        print(
            f"{len(held)} appends for {len(creates)} creates: the probe is wrong", file=sys.stderr
        )
        return 2
    p50, p99 = percentile(held, 0.5), percentile(held, 0.99)
    create_p50 = statistics.median(creates)
    ceiling, one_process = 1 / p50, 1 / create_p50
    print(f"creates measured: {len(creates)} (one process, one client, PostgreSQL)")
    print(f"log head held per append: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    print(f"create as the client sees it: p50 {create_p50 * 1000:.2f} ms")
    print(f"the lock's ceiling on the cluster: {ceiling:7.0f} creates/s")
    print(f"one process:                       {one_process:7.0f} creates/s")
    print(f"ratio: {ceiling / one_process:.1f} (target >= {TARGET})")
    return 0 if ceiling / one_process >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
