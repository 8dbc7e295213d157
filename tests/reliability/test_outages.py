"""Outages of what the gateway depends on: the database server and the policy engine. Either
gone or slow, requests fail closed with 503 problem+json, nothing is half-done, and service
resumes by itself when the dependency returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gateway import db, migrations
from gateway.app import create_app
from gateway.db import make_engine
from gateway.exchanges.models import Exchange
from gateway.organisations.identifiers import OrganisationRole
from gateway.policy.bundle import PolicyBundle
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL, drop_database, fresh_database_url
from tests.factories import access_token, bearer, register
from tests.policy.conftest import bundle, load_bundle_into_opa
from tests.policy.opa_test_server import running_opa_server
from tests.portal.live import free_port
from tests.reliability.proxy import CuttableProxy, cuttable
from tests.reliability.writes import GUARDIANS, offer

__all__ = ["bundle"]  # the policy suite's fixture: the real bundle


def assert_unavailable(response: httpx2.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:kindkoppeling:problem:service-unavailable"
    assert int(response.headers.get("retry-after", "1")) >= 1


@pytest.fixture
def behind_proxy(server_backend: str, tmp_path: Path) -> Iterator[tuple[Settings, CuttableProxy]]:
    direct = fresh_database_url(server_backend, tmp_path)
    engine = make_engine(direct)
    migrations.upgrade(engine)
    engine.dispose()
    url = make_url(direct)
    with cuttable((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        yield (
            Settings(
                environment="dev",
                data_dir=tmp_path / "var",
                database_url=proxied,
                public_url=PUBLIC_URL,
                maintenance_interval=0,
            ),
            proxy,
        )
    drop_database(direct)


def test_database_gone_is_503_and_the_gateway_recovers_when_it_returns(
    behind_proxy: tuple[Settings, CuttableProxy],
) -> None:
    settings, proxy = behind_proxy
    app = create_app(settings)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        with app.state.sessions() as session:
            opvang = register(session, OrganisationRole.OPVANG, token_url=settings.token_url)
            school = register(session, OrganisationRole.SCHOOL, token_url=settings.token_url)
        headers = bearer(access_token(client, opvang))
        assert client.put("/api/v1/children/guardians", json=GUARDIANS, headers=headers).is_success

        proxy.cut()
        assert_unavailable(client.get("/api/v1/organisations/me", headers=headers))
        assert_unavailable(
            client.post("/api/v1/exchanges", json=offer(school.organisation_id), headers=headers)
        )
        assert_unavailable(client.get("/health/ready"))
        assert client.get("/health/live").status_code == 200  # the process itself is fine

        proxy.restore()
        assert client.get("/health/ready").status_code == 200
        created = client.post(
            "/api/v1/exchanges", json=offer(school.organisation_id), headers=headers
        )
        assert created.status_code == 201, created.text
        with app.state.sessions() as session:
            # Exactly the one made after recovery: the attempt during the outage left nothing.
            assert session.scalar(select(func.count()).select_from(Exchange)) == 1


def test_policy_engine_gone_denies_nothing_into_existence(
    settings: Settings, session: Session
) -> None:
    dead = settings.model_copy(update={"opa_url": f"http://127.0.0.1:{free_port()}"})
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)
    with TestClient(create_app(dead), base_url=PUBLIC_URL) as client:
        headers = bearer(access_token(client, opvang))
        # Recording guardians is decided by the policy too.
        assert_unavailable(
            client.put("/api/v1/children/guardians", json=GUARDIANS, headers=headers)
        )
        response = client.post(
            "/api/v1/exchanges", json=offer(school.organisation_id), headers=headers
        )
    assert_unavailable(response)
    assert "allow" not in response.json()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Exchange)) == 0


@pytest.mark.parametrize(("delay", "status"), [(2.0, None), (0.0, 500)], ids=["slow", "failing"])
def test_a_slow_or_failing_policy_engine_is_503_until_it_is_healthy_again(
    settings: Settings, session: Session, bundle: PolicyBundle, delay: float, status: int | None
) -> None:
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)
    with running_opa_server() as (url, state):
        load_bundle_into_opa(url, bundle)
        app = create_app(settings.model_copy(update={"opa_url": url, "opa_timeout": 0.3}))
        with TestClient(app, base_url=PUBLIC_URL) as client:
            headers = bearer(access_token(client, opvang))
            assert client.put(
                "/api/v1/children/guardians", json=GUARDIANS, headers=headers
            ).is_success
            healthy = client.post(
                "/api/v1/exchanges", json=offer(school.organisation_id), headers=headers
            )
            assert healthy.status_code == 201, healthy.text

            state.delay_seconds, state.fail_with_status = delay, status
            sick = client.post(
                "/api/v1/exchanges", json=offer(school.organisation_id), headers=headers
            )
            assert_unavailable(sick)

            state.delay_seconds, state.fail_with_status = 0.0, None
            again = client.post(
                "/api/v1/exchanges", json=offer(school.organisation_id), headers=headers
            )
            assert again.status_code == 201, again.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Exchange)) == 2


@pytest.fixture
def server_engine(server_backend: str, tmp_path: Path) -> Iterator[Engine]:
    url = fresh_database_url(server_backend, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


def ended_by_the_server(engine: Engine) -> None:
    """The server ends the one connection in ``engine``'s pool, as a restart would."""
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    with admin.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def test_a_rested_connection_the_server_dropped_is_replaced_before_use(
    server_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended_by_the_server(server_engine)
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # it has rested long enough to be pinged

    with server_engine.connect() as connection:
        answer = connection.execute(text("SELECT 1")).scalar()

    assert answer == 1


def test_a_busy_connection_the_server_dropped_fails_one_request_and_the_next_gets_a_new_one(
    server_engine: Engine,
) -> None:
    ended_by_the_server(server_engine)  # not rested: no ping

    with pytest.raises(OperationalError) as failed, server_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with server_engine.connect() as connection:
        answer = connection.execute(text("SELECT 1")).scalar()

    assert failed.value.connection_invalidated
    assert answer == 1
