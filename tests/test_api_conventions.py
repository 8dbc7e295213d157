"""NL API Design Rules the whole API keeps: the version on every response and in the server URL,
lowerCamelCase query keys (the old names deprecated), a complete contact and the OAuth2 flow in
the OpenAPI document. Logius's own linter passed on this document with no error or warning
(ADR 0011); these tests hold the document to what it checked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.api_document import served_paths
from gateway.app import create_app
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import access_token, bearer, register


def test_every_response_names_the_api_version(client: TestClient, session: Session) -> None:
    version = client.get("/api/v1/openapi.json").json()["info"]["version"]
    headers = bearer(access_token(client, register(session, OrganisationRole.SCHOOL)))
    answers = [
        client.get("/api/v1/organisations/me", headers=headers),  # an API answer
        client.post("/api/v1/exchanges", json={}, headers=headers),  # a refusal (422)
        client.get("/api/v1/organisations/me"),  # no token (401)
        client.get("/api/v1/nothing-here"),  # no route (404)
        client.get("/health/live"),
        client.get("/portaal", follow_redirects=False),  # the portal (to its login)
        client.head("/api/v1/audit/checkpoint"),
    ]
    assert [a.status_code for a in answers] == [200, 422, 401, 404, 200, 303, 200]
    for answer in answers:
        assert answer.headers["api-version"] == version == "0.1.0"


def test_the_openapi_document_names_a_contact_and_the_client_credentials_flow(
    settings: Settings,
) -> None:
    with_email = settings.model_copy(update={"api_contact_email": "api@gateway.example.nl"})
    with TestClient(create_app(with_email), base_url=PUBLIC_URL) as client:
        document = client.get("/api/v1/openapi.json").json()

    assert document["info"]["contact"] == {
        "name": "kindkoppeling",
        "url": f"{PUBLIC_URL}/",
        "email": "api@gateway.example.nl",
    }
    schemes = document["components"]["securitySchemes"]
    flow = schemes["OAuth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == f"{PUBLIC_URL}/oauth/token"
    assert set(flow["scopes"]) == {"exchange", "admin"}
    me = document["paths"]["/organisations/me"]["get"]
    assert me["security"] == [{"OAuth2": []}]


def test_old_snake_case_query_keys_still_work_and_say_they_are_deprecated(
    client: TestClient, admin: dict[str, str]
) -> None:
    # NL API Design Rules: query keys are lowerCamelCase. The snake_case names of before still
    # work, with a Deprecation header (RFC 9745) saying since when.
    trace = "ab" * 16
    new = client.get("/api/v1/audit/entries", params={"traceId": trace}, headers=admin)
    old = client.get("/api/v1/audit/entries", params={"trace_id": trace}, headers=admin)
    both = client.get(
        "/api/v1/audit/entries", params={"trace_id": "not-hex", "traceId": trace}, headers=admin
    )
    bad_old = client.get("/api/v1/audit/entries", params={"trace_id": "not-hex"}, headers=admin)

    assert new.status_code == old.status_code == both.status_code == 200
    assert new.json() == old.json()
    assert "deprecation" not in new.headers
    assert old.headers["deprecation"] == "@1796428800"  # 2026-12-05
    assert bad_old.status_code == 422  # the old name is read, and checked, as the new one


QUERY_KEY = re.compile(r"^\$?[a-z][a-z\d]*([A-Z][a-z\d]*)*$")  # NL API Design Rules, lowerCamelCase


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    served: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return served


def test_the_server_carries_the_major_version_and_paths_are_relative_to_it(
    document: dict[str, Any],
) -> None:
    assert document["servers"][0]["url"] == f"{PUBLIC_URL}/api/v1"
    outside = {p: item["servers"] for p, item in document["paths"].items() if "servers" in item}
    assert set(outside) == {"/oauth/token", "/health/live", "/health/ready"}
    assert all(servers == [{"url": PUBLIC_URL}] for servers in outside.values())
    served = served_paths(document)
    assert "/api/v1/exchanges/{exchange_id}" in served and "/oauth/token" in served
    assert not any(path.startswith("/api/v1/api/") for path in served)


def test_every_response_declares_the_api_version_header(document: dict[str, Any]) -> None:
    header = document["components"]["headers"]["API-Version"]
    assert header["schema"]["type"] == "string"
    responses = [
        response
        for item in document["paths"].values()
        for method, operation in item.items()
        if method != "servers"
        for response in operation["responses"].values()
    ]
    assert len(responses) > 100
    assert all(
        r["headers"]["API-Version"] == {"$ref": "#/components/headers/API-Version"}
        for r in responses
    )


def test_query_keys_are_lower_camel_case_and_the_contact_is_complete(
    document: dict[str, Any],
) -> None:
    keys = {
        parameter["name"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method != "servers"
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert {"childRef", "traceId", "onBehalfOf", "schoolYear", "treeSize"} <= keys
    assert [key for key in keys if not QUERY_KEY.match(key)] == []
    assert set(document["info"]["contact"]) == {"name", "url", "email"}


def test_the_key_set_and_the_metrics_are_served_but_not_in_the_api_document(
    client: TestClient, document: dict[str, Any]
) -> None:
    assert "/.well-known/jwks.json" not in document["paths"]
    assert "/metrics" not in document["paths"]
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.get("/metrics").status_code == 200
