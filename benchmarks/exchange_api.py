"""Requests per second for creating an exchange (create + decide), against a bare endpoint.

Subject: ``POST /api/v1/exchanges`` on the real gateway served by uvicorn over loopback, with a
SQLite database: token check, child lookup by BSN (HMAC), the policy decision (regorus), the
exchange insert and its audit entry, one commit. The offer is a verzuimmelding (legal duty), so
every request is decided in full and allowed. Floor: a bare FastAPI route returning a constant
JSON object, served by uvicorn on loopback in the same run and driven the same way (one client,
keep-alive, sequential). Prints both rates and the ratio; exits non-zero below the target.

For diagnosis it also prints the rate of an authenticated request that does nothing else
(``GET /api/v1/organisations/me``: token check and organisation lookup) on the same server, so a
run shows how much of the gap is the authenticated request path and how much the exchange itself
(docs/adr/0006-exchange-throughput.md).
"""

from __future__ import annotations

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

from audit.entry import Actor
from gateway.app import create_app
from gateway.auth.assertions import sign_client_assertion, token_request_form
from gateway.logs import configure_logging
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.policy.opa_test_server import free_port

BENCH = Actor(type="system", id="benchmark")
TARGET_RATIO = 0.3
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


def bare_rate() -> float:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    with serving(app) as url, httpx.Client(base_url=url) as client:
        return rate(lambda: client.get("/ping").raise_for_status() and None)


def register(session: Any, role: OrganisationRole, identifier: str) -> tuple[str, ECKey]:
    organisation = service.register_organisation(
        session, actor=BENCH, role=role, name=f"Bench {role.value}", identifier=identifier
    )
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    service.add_key(session, organisation.id, key.as_dict(private=False), actor=BENCH)
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
            assertion = sign_client_assertion(key, school, f"{url}/oauth/token")
            token = client.post("/oauth/token", data=token_request_form(assertion))
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


def exchange_rate() -> tuple[float, float]:
    """Creates per second, and authenticated no-op reads per second on the same server."""
    with creating_client() as (create, who_am_i, _):
        return rate(create), rate(who_am_i)


def main() -> int:
    configure_logging("WARNING")
    floor = bare_rate()
    subject, authenticated = exchange_rate()
    ratio = subject / floor
    print(f"POST /api/v1/exchanges (create + decide): {subject:8.0f} requests/s")
    print(f"bare FastAPI JSON endpoint:               {floor:8.0f} requests/s")
    print(f"ratio: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"diagnosis: GET /api/v1/organisations/me:  {authenticated:8.0f} requests/s")
    print(f"  authenticated no-op / bare:   {authenticated / floor:.2f}")
    print(f"  create / authenticated no-op: {subject / authenticated:.2f}")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
