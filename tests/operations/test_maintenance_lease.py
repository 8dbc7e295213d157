"""One maintenance run at a time across processes and replicas (gateway.leases), on SQLite and
PostgreSQL: of several timers one runs per interval, concurrent starts run once, a holder that
died lets its lease run out, and a one-off run waits for nobody but a running one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway import leases
from gateway.exchanges.expiry import MaintenanceReport
from gateway.exchanges.maintenance import MAINTENANCE_LEASE, run_once

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_lease_has_one_holder_until_it_is_released_or_runs_out(session: Session) -> None:
    assert leases.acquire(session, "job", NOW, HOUR, holder="a")
    assert not leases.acquire(session, "job", NOW + timedelta(minutes=1), HOUR, holder="b")
    assert leases.holder_of(session, "job", NOW) == "a"

    leases.release(session, "job", NOW + timedelta(minutes=2), holder="a")
    assert leases.acquire(session, "job", NOW + timedelta(minutes=3), HOUR, holder="b")
    # b dies holding it; after the lease runs out, c takes over
    assert not leases.acquire(session, "job", NOW + timedelta(minutes=30), HOUR, holder="c")
    assert leases.acquire(session, "job", NOW + 2 * HOUR, HOUR, holder="c")


def test_a_periodic_run_skips_when_one_started_within_the_interval(session: Session) -> None:
    every = timedelta(minutes=5)
    assert leases.acquire(session, "job", NOW, HOUR, not_since=every, holder="a")
    leases.release(session, "job", NOW + timedelta(seconds=10), holder="a")

    soon = NOW + timedelta(minutes=2)
    assert not leases.acquire(session, "job", soon, HOUR, not_since=every, holder="b")
    assert leases.acquire(session, "job", soon, HOUR, holder="b")  # a one-off run may
    leases.release(session, "job", soon, holder="b")
    later = soon + every
    assert leases.acquire(session, "job", later, HOUR, not_since=every, holder="c")


def test_of_replicas_starting_together_one_runs(client: TestClient) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    results: list[MaintenanceReport | None] = []
    start = threading.Barrier(4)

    def replica() -> None:
        start.wait()
        interval = timedelta(minutes=5)
        results.append(
            run_once(state.sessions, state.signals, state.audit_signer, interval=interval)
        )

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert sum(r is not None for r in results) == 1
    with state.sessions() as session:
        assert leases.holder_of(session, MAINTENANCE_LEASE, datetime.now(UTC)) is None  # released
