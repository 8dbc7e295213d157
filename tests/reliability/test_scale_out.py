"""Two gateway server processes on one PostgreSQL database, as two replicas are: requests
spread over both. The rate limit holds for both together (at most the limit plus what was in
flight), maintenance runs once per interval whichever timer ticks, every acknowledged write is
in the audit log exactly once, and the log verifies."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from audit import store
from audit.tables import entries
from audit.verify import verify_log
from gateway.db import make_engine, make_sessionmaker
from gateway.keys import load_keys
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import migrated_database
from tests.factories import bearer, register
from tests.portal.live import free_port
from tests.reliability.processes import REPO, gateway_process
from tests.reliability.writes import GUARDIANS, offer
from tests.tally import TALLY

LIMIT = 60
INTERVAL = 2  # seconds between maintenance ticks in each process
IN_FLIGHT = 8  # concurrent requests: what may pass beyond the limit


def events(logs: list[str], name: str) -> int:
    found = 0
    for line in logs:
        try:
            found += json.loads(line).get("event") == name
        except ValueError:
            continue
    return found


@pytest.fixture
def database(server_backend: str, tmp_path: Path) -> Iterator[str]:
    with migrated_database(server_backend, tmp_path) as url:
        yield url


def test_two_server_processes_behave_as_one(database: str, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{ports[0]}"  # one issuer and audience for both
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database,
        "GATEWAY_DATA_DIR": str(tmp_path / "var"),
        "GATEWAY_PUBLIC_URL": public_url,
        "GATEWAY_RATE_LIMIT": f"{LIMIT}/minute",
        "GATEWAY_MAINTENANCE_INTERVAL": str(INTERVAL),
        "GATEWAY_OUTBOX_INTERVAL": "0",
        "GATEWAY_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPO),
    }
    settings = Settings(data_dir=tmp_path / "var", database_url=database, public_url=public_url)
    engine = make_engine(database)
    logs: list[str] = []
    started = time.monotonic()
    with ExitStack() as stack:
        first, _ = stack.enter_context(gateway_process(env, ports[0], logs))  # makes the keys ...
        second, _ = stack.enter_context(gateway_process(env, ports[1], logs))  # ... for both
        urls = [first, second]
        with make_sessionmaker(engine)() as session:
            reader, writer, school = (
                register(session, role, token_url=settings.token_url)
                for role in (
                    OrganisationRole.SCHOOL,
                    OrganisationRole.OPVANG,
                    OrganisationRole.SCHOOL,
                )
            )
        with httpx.Client(base_url=first, timeout=30) as client:
            tokens = [
                bearer(client.post("/oauth/token", data=party.staff_form()).json()["access_token"])
                for party in (reader, writer)
            ]
            assert client.put("/api/v1/children/guardians", json=GUARDIANS, headers=tokens[1])

        def read(n: int) -> int:
            url = urls[n % 2]
            return httpx.get(f"{url}/api/v1/organisations/me", headers=tokens[0]).status_code

        def write(n: int) -> tuple[int, str | None]:
            url = urls[n % 2]
            created = httpx.post(
                f"{url}/api/v1/exchanges", json=offer(school.organisation_id), headers=tokens[1]
            )
            return created.status_code, created.json().get("id")

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            reads = list(pool.map(read, range(200)))
            writes = list(pool.map(write, range(LIMIT - 10)))
        time.sleep(max(0.0, 3 * INTERVAL - (time.monotonic() - started)))
        elapsed = time.monotonic() - started
    TALLY["abuse_requests"] += len(reads)

    allowed = reads.count(200)
    assert LIMIT - 1 <= allowed <= LIMIT + IN_FLIGHT, reads  # one budget for both processes
    assert set(reads) == {200, 429}
    runs, skipped = events(logs, "maintenance"), events(logs, "maintenance_skipped")
    assert 1 <= runs <= elapsed / (0.9 * INTERVAL) + 1, (runs, skipped, elapsed)
    assert skipped >= 1  # both timers ticked; the lease let one of them run
    acknowledged = [exchange_id for status, exchange_id in writes if status == 201]
    assert len(acknowledged) == len(writes)
    with make_sessionmaker(engine)() as session:
        logged = [
            json.loads(leaf)
            for leaf in session.scalars(
                select(entries.c.leaf).where(entries.c.action == "decision")
            )
        ]
        decided = [e["exchange_id"] for e in logged]
        for exchange_id in acknowledged:
            assert decided.count(exchange_id) == 1, exchange_id
        signer = load_keys(settings).checkpoint_signer(settings.checkpoint_origin)
        report = verify_log(
            store.iter_leaves(session), store.all_checkpoints(session), signer.verifiers
        )
    engine.dispose()
    assert report.ok, report.faults
