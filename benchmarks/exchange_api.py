"""Requests per second for creating an exchange (create + decide), against a bare endpoint.

Subject: ``POST /api/v1/exchanges`` on the real gateway served by uvicorn over loopback, with a
SQLite database: token check, child lookup by BSN (HMAC), the policy decision (regorus), the
exchange insert and its audit entry, one commit. The offer is a verzuimmelding (legal duty), so
every request is decided in full and allowed. Floor: a bare FastAPI route returning a constant
JSON object, served by uvicorn on loopback in the same run and driven the same way (one client,
keep-alive, sequential). Prints both rates and the ratio; exits non-zero below the target.

The three kinds of request are measured in alternating rounds of half a second, both servers up
at once, and each rate is the median of its rounds: a slow phase of the machine (they come and
go on these shared machines) then weighs on all three alike instead of on whichever ran in it.

It also measures an authenticated request that does nothing else (``GET
/api/v1/organisations/me``: token check, organisation lookup, its keys) on the same server, with a
target of its own (issue 24): how much of the gap is the request path and how much the exchange
itself (docs/adr/0006-exchange-throughput.md).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from fastapi import FastAPI
from joserfc.jwk import ECKey
from sqlalchemy import event

from audit.entry import Actor
from gateway.app import create_app
from gateway.auditing.service import organisation_actor
from gateway.auth.assertions import staff_token_request_form
from gateway.logs import configure_logging
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from gateway.staff.service import register_staff
from tests.policy.opa_test_server import free_port

BENCH = Actor(type="system", id="benchmark")
CREATE_RATIO = 0.5  # create / authenticated no-op: its own work costs no more than the request
NO_OP_RATIO = 0.5  # authenticated no-op / bare (issues 24 and 34)
STATEMENTS = 8  # SQL statements per create (issue 34: 13 before it)
SECONDS = 5.0


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def rate(call: Callable[[], None], seconds: float = SECONDS) -> float:
    for _ in range(50):  # warm up
        call()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - started)


def interleaved_rates(
    calls: dict[str, Callable[[], None]], seconds: float = SECONDS, round_seconds: float = 0.5
) -> dict[str, float]:
    """Requests per second of each call: the median over alternating rounds, ``seconds`` each
    in all."""
    for call in calls.values():
        rate(call, 0.2)  # warm up
    rounds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(1, round(seconds / round_seconds))):
        for name, call in calls.items():
            rounds[name].append(rate_now(call, round_seconds))
    return {name: statistics.median(found) for name, found in rounds.items()}


def rate_now(call: Callable[[], None], seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - started)


@contextmanager
def bare_client() -> Iterator[Callable[[], None]]:
    """A bare FastAPI route served on loopback, and a call of it."""
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    with serving(app) as url, httpx.Client(base_url=url) as client:
        yield lambda: client.get("/ping").raise_for_status() and None


BENCH_STAFF = "bench-1"


def register(session: Any, role: OrganisationRole, identifier: str) -> tuple[str, ECKey]:
    organisation = service.register_organisation(
        session, actor=BENCH, role=role, name=f"Bench {role.value}", identifier=identifier
    )
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    service.add_key(session, organisation.id, key.as_dict(private=False), actor=BENCH)
    actor = organisation_actor(organisation.id, role.value)  # calls are made for a staff member
    register_staff(session, actor, BENCH_STAFF, display_name="Bench", role="bench")
    return organisation.id, key


@contextmanager
def creating_client(
    **settings_overrides: Any,
) -> Iterator[tuple[Callable[[], None], Callable[[], None], FastAPI]]:
    """A gateway on SQLite served on loopback, a school with a token, and two calls: a create
    (a verzuimmelding to leerplicht, decided in full and allowed) and an authenticated no-op;
    and the app, for what a benchmark does beside the requests."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = Settings(
            data_dir=Path(tmp),
            log_level="WARNING",
            public_url=f"http://127.0.0.1:{port}",
            maintenance_interval=0,
            outbox_interval=0,
            rate_limit="1000000/second",  # measure the work, not the brake
            **settings_overrides,
        )
        app = create_app(settings)
        with serving(app, port) as url, httpx.Client(base_url=url) as client:
            with app.state.sessions() as session:
                school, key = register(session, OrganisationRole.SCHOOL, "99ZZ")
                leerplicht, _ = register(session, OrganisationRole.LEERPLICHT, "GM9999")
            form = staff_token_request_form(key, school, f"{url}/oauth/token", BENCH_STAFF)
            token = client.post("/oauth/token", data=form)
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            body = {
                "purpose": "verzuimmelding",
                "direction": "offer",
                "counterparty_id": leerplicht,
                "child": {"bsn": "111222333", "birth_date": "2015-05-01"},
                "requested_fields": ["absence_period", "signal_type"],
            }

            def create() -> None:
                response = client.post("/api/v1/exchanges", json=body, headers=headers)
                assert response.status_code == 201, response.text
                assert response.json()["status"] == "awaiting_delivery"

            def who_am_i() -> None:
                client.get("/api/v1/organisations/me", headers=headers).raise_for_status()

            yield create, who_am_i, app


def statements_per_call(app: FastAPI, call: Callable[[], None], times: int = 20) -> float:
    """The SQL statements the gateway runs for one ``call``, averaged over ``times``."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(app.state.engine, "before_cursor_execute", note)
    try:
        for _ in range(times):
            call()
    finally:
        event.remove(app.state.engine, "before_cursor_execute", note)
    return len(seen) / times


def main() -> int:
    configure_logging("WARNING")
    with bare_client() as bare, creating_client() as (create, who_am_i, app):
        rates = interleaved_rates({"bare": bare, "create": create, "no-op": who_am_i})
        per_create = statements_per_call(app, create)
        per_no_op = statements_per_call(app, who_am_i)
    floor, subject, authenticated = rates["bare"], rates["create"], rates["no-op"]
    own_work, request_path = subject / authenticated, authenticated / floor
    print(f"POST /api/v1/exchanges (create + decide): {subject:8.0f} requests/s")
    print(f"GET /api/v1/organisations/me (no-op):     {authenticated:8.0f} requests/s")
    print(f"bare FastAPI JSON endpoint:               {floor:8.0f} requests/s")
    print(f"create / authenticated no-op: {own_work:.2f} (target >= {CREATE_RATIO})")
    print(f"authenticated no-op / bare:   {request_path:.2f} (target >= {NO_OP_RATIO})")
    print(f"create / bare:                {subject / floor:.2f}")
    print(f"SQL statements per create: {per_create:.1f} (target <= {STATEMENTS}), ", end="")
    print(f"per no-op: {per_no_op:.1f}")
    met = own_work >= CREATE_RATIO and request_path >= NO_OP_RATIO and per_create <= STATEMENTS
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
