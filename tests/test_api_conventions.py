"""NL API Design Rules the whole API keeps: the version on every response, a contact and the
OAuth2 flow in the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

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
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == {"exchange", "admin"}
    me = document["paths"]["/api/v1/organisations/me"]["get"]
    assert me["security"] == [{"OAuth2": []}]
