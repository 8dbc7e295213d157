"""Every error the service returns is RFC 9457 problem+json with a stable type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.organisations.identifiers import OrganisationRole
from tests.conftest import PUBLIC_URL
from tests.factories import access_token, bearer, register

PROBLEM = "application/problem+json"
ORGS = "/api/v1/organisations"


def assert_problem(response, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:kindkoppeling:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body  # type: ignore[no-any-return]


def test_unknown_route_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == "/api/v1/nothing-here"
    assert body["request_id"] == response.headers["x-request-id"]  # one header, not two


def test_wrong_method_is_405(client: TestClient) -> None:
    assert_problem(client.delete("/health/live"), 405, "method-not-allowed")


def test_missing_token_is_401(client: TestClient) -> None:
    assert_problem(client.get(f"{ORGS}/me"), 401, "authentication-required")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", ""])
def test_malformed_token_is_401(client: TestClient, token: str) -> None:
    response = client.get(f"{ORGS}/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_tampered_access_token_is_401(client: TestClient, session: Session) -> None:
    token = access_token(client, register(session))
    header, payload, signature = token.split(".")
    # Flip one character of the payload: the signature no longer matches.
    tampered_payload = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]

    response = client.get(f"{ORGS}/me", headers=bearer(f"{header}.{tampered_payload}.{signature}"))

    assert_problem(response, 401, "invalid-token")


def test_token_of_another_gateway_is_401(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    from joserfc.jwk import ECKey

    from gateway.auth.access_tokens import AccessTokens
    from gateway.auth.scopes import Scope

    school = register(session)
    foreign_key = ECKey.generate_key("P-256", private=True)
    foreign_key.ensure_kid()
    foreign = AccessTokens(app.state.settings, foreign_key).issue(
        school.organisation_id, OrganisationRole.SCHOOL, frozenset({Scope.EXCHANGE})
    )

    assert_problem(
        client.get(f"{ORGS}/me", headers=bearer(foreign["access_token"])), 401, "invalid-token"
    )


def test_missing_scope_is_403(client: TestClient, session: Session) -> None:
    school = bearer(access_token(client, register(session)))
    assert_problem(client.get(ORGS, headers=school), 403, "insufficient-scope")


def test_conflict_is_409(client: TestClient, admin: dict[str, str]) -> None:
    body = {"role": "school", "name": "Dubbel", "identifier": "11AA"}
    client.post(ORGS, json=body, headers=admin)
    assert_problem(client.post(ORGS, json=body, headers=admin), 409, "conflict")


def test_declared_oversize_body_is_413(client: TestClient, admin: dict[str, str]) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = client.post(ORGS, content=big, headers=admin | {"content-type": "application/json"})
    body = assert_problem(response, 413, "payload-too-large")
    assert body["max_body_bytes"] == 1024 * 1024


def test_streamed_oversize_body_without_length_is_413(
    client: TestClient, admin: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    response = client.post(
        ORGS, content=chunks(), headers=admin | {"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


def test_oversize_token_request_is_413(client: TestClient) -> None:
    response = client.post(
        "/oauth/token",
        content=b"a=" + b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "payload-too-large")


def test_wrong_content_type_is_415(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        ORGS,
        content=b"role=school",
        headers=admin | {"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_invalid_body_is_422_with_the_offending_fields(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = assert_problem(
        client.post(ORGS, json={"role": "school"}, headers=admin), 422, "validation-failed"
    )
    assert {e["pointer"] for e in body["errors"]} == {"#/name", "#/identifier"}


def test_malformed_json_is_422(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        ORGS, content=b'{"role": ', headers=admin | {"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation-failed")


def test_invalid_query_parameter_is_422(client: TestClient, admin: dict[str, str]) -> None:
    body = assert_problem(
        client.get(ORGS, params={"role": "bakery"}, headers=admin), 422, "validation-failed"
    )
    assert body["errors"][0] == {
        "parameter": "role",
        "in": "query",
        "detail": body["errors"][0]["detail"],
    }


def test_framework_http_errors_of_any_status_become_problems(app: FastAPI) -> None:
    @app.get("/test-only/too-many")
    def too_many() -> None:
        raise HTTPException(429, detail="Slow down.", headers={"Retry-After": "3"})

    with TestClient(app, base_url=PUBLIC_URL) as client:
        response = client.get("/test-only/too-many")

    body = assert_problem(response, 429, "too-many-requests")
    assert body["detail"] == "Slow down."
    assert response.headers["retry-after"] == "3"


def test_unexpected_exception_is_500_without_internals(app: FastAPI) -> None:
    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as client:
        response = client.get("/test-only/boom")

    body = assert_problem(response, 500, "internal-error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


def test_request_id_is_echoed_when_sane_and_replaced_when_not(client: TestClient) -> None:
    kept = client.get("/health/live", headers={"X-Request-ID": "trace-1234567"})
    replaced = client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})

    assert kept.headers["x-request-id"] == "trace-1234567"
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


def test_an_extension_cannot_replace_a_standard_problem_member() -> None:
    from gateway.errors import ConflictError

    for name in ("type", "title", "status", "instance"):  # detail is the first argument
        with pytest.raises(ValueError, match=name):
            ConflictError("The exchange is delivered.", **{name: "delivered"})
