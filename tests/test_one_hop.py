"""An API request costs one hop to a worker thread at most (gateway.one_hop), and the caller is
confirmed before anything else about the request is answered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import OrganisationStatus
from tests.factories import access_token, bearer, register
from tests.security.test_tokens import protected_routes

SYSTEM = service.Actor(type="system", id="test")


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the functions run on the thread pool, as they are handed to it."""
    handed: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    yield handed


def app_engine(client: TestClient) -> Engine:
    """The engine the gateway under test serves requests from."""
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def verzuimmelding(leerplicht_id: str) -> dict[str, Any]:
    return {
        "purpose": "verzuimmelding",
        "direction": "offer",
        "counterparty_id": leerplicht_id,
        "child": {"bsn": "111222333", "birth_date": "2015-05-01"},
        "requested_fields": ["absence_period", "signal_type"],
    }


def test_an_authenticated_read_and_a_create_each_cost_one_hop(
    client: TestClient, session: Session, hops: list[str]
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    leerplicht = register(session, OrganisationRole.LEERPLICHT)
    headers = bearer(access_token(client, school))

    hops.clear()
    assert client.get("/api/v1/organisations/me", headers=headers).status_code == 200
    assert len(hops) == 1, hops

    hops.clear()
    body = verzuimmelding(leerplicht.organisation_id)
    created = client.post("/api/v1/exchanges", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "awaiting_delivery"
    assert len(hops) == 1, hops
    assert app_engine(client).pool.checkedout() == 0  # the hop closed its session


def test_every_protected_route_answers_within_one_hop(
    client: TestClient, session: Session, hops: list[str]
) -> None:
    """Whatever the answer (found, not found, invalid), with a valid token."""
    admin = bearer(access_token(client, register(session, OrganisationRole.GATEWAY)))
    school = bearer(access_token(client, register(session, OrganisationRole.SCHOOL)))
    routes = protected_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) >= 30
    for headers in (admin, school):
        for method, path in routes:
            hops.clear()
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code < 500, (method, path, response.text)
            assert len(hops) <= 1, (method, path, hops)


def test_a_suspended_organisation_is_refused_before_its_request_is_looked_at(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    headers = bearer(access_token(client, school))
    service.set_status(session, school.organisation_id, OrganisationStatus.SUSPENDED, actor=SYSTEM)
    session.commit()

    invalid_body = client.post("/api/v1/exchanges", json={"purpose": 7}, headers=headers)
    wrong_scope = client.get("/api/v1/organisations", headers=headers)  # admin only
    valid = client.get("/api/v1/organisations/me", headers=headers)

    for refused in (invalid_body, wrong_scope, valid):
        assert refused.status_code == 401, refused.text
        assert "suspended" in refused.json()["detail"]
        assert refused.headers["www-authenticate"].startswith('Bearer realm="kindkoppeling"')
    assert app_engine(client).pool.checkedout() == 0
