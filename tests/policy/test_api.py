"""The policy endpoints: the register in plain language, and the decision preview."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import RegisteredClient, access_token, bearer, register
from tests.policy.opa_test_server import OpaState, free_port

PREVIEW = "/api/v1/decisions/preview"


def preview_body(counterparty_id: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "purpose": "warme-overdracht",
        "direction": "offer",
        "counterparty_id": counterparty_id,
        "requested_fields": ["development_summary", "home_language", "bsn"],
        "subject": {
            "age": 4,
            "guardians": [
                {"id": "mother", "gezag": True},
                {"id": "father", "gezag": True, "restricted": True},
            ],
        },
    }
    return body | changes


def post_preview(
    client: TestClient, caller: RegisteredClient, counterparty_id: str, **changes: object
) -> httpx2.Response:
    return client.post(
        PREVIEW,
        json=preview_body(counterparty_id, **changes),
        headers=bearer(access_token(client, caller)),
    )


def test_policies_lists_every_purpose_and_rule(client: TestClient) -> None:
    body = client.get("/api/v1/policies").json()

    assert body["policy_version"].startswith("sha256:")
    assert body["engine"] == "regorus"
    assert {p["id"] for p in body["purposes"]} == {
        "warme-overdracht",
        "onderwijskundig-rapport",
        "tlv-aanvraag",
        "verzuimmelding",
        "vrijstelling-status",
        "plaatsing-opvang",
        "zorg-afstemming",
    }
    assert len(body["rules"]) == 8
    exemption = next(p for p in body["purposes"] if p["id"] == "vrijstelling-status")
    assert "diagnosis" in {n["name"] for n in exemption["never"]}


def test_preview_shows_what_would_be_shared_and_why(client: TestClient, session: Session) -> None:
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)

    response = post_preview(client, opvang, school.organisation_id)

    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["allow"] is False  # no consent yet
    assert decision["hypothetical"] is True  # a made-up subject
    assert decision["fields"] == ["development_summary", "home_language"]
    assert decision["stripped"] == {"bsn": "not part of this purpose"}
    assert {"type": "await_consent", "holders": ["mother"], "parties": None} in decision[
        "obligations"
    ]
    assert decision["policy_version"] == client.get("/api/v1/policies").json()["policy_version"]


def test_preview_takes_roles_from_the_registry_not_the_body(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    other_school = register(session, OrganisationRole.SCHOOL)

    # A school cannot pass itself off as opvang: the register has no school -> school route
    # for warme overdracht.
    decision = post_preview(client, school, other_school.organisation_id).json()

    assert decision["allow"] is False
    assert "does not let a school send data to a school" in decision["reasons"][0]


def test_preview_with_unknown_counterparty_is_422(client: TestClient, session: Session) -> None:
    opvang = register(session, OrganisationRole.OPVANG)

    response = post_preview(client, opvang, "00000000-0000-0000-0000-000000000000")

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/counterparty_id"


def test_preview_needs_the_exchange_scope(client: TestClient, session: Session) -> None:
    admin = register(session, OrganisationRole.GATEWAY)
    school = register(session, OrganisationRole.SCHOOL)

    response = post_preview(client, admin, school.organisation_id)

    assert response.status_code == 403


def test_preview_validates_the_subject(client: TestClient, session: Session) -> None:
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)

    response = post_preview(
        client, opvang, school.organisation_id, subject={"age": -1, "safety_code": "paars"}
    )

    assert response.status_code == 422
    assert {"#/subject/age", "#/subject/safety_code"} <= {
        e["pointer"] for e in response.json()["errors"]
    }


@pytest.fixture
def opa_client_app(
    settings: Settings, opa_server: tuple[str, OpaState]
) -> Iterator[tuple[TestClient, OpaState]]:
    url, state = opa_server
    app = create_app(settings.model_copy(update={"opa_url": url}))
    with TestClient(app, base_url=PUBLIC_URL) as client:
        yield client, state


def test_gateway_configured_with_opa_asks_the_opa_server(
    opa_client_app: tuple[TestClient, OpaState], session: Session
) -> None:
    client, state = opa_client_app
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)

    response = post_preview(client, opvang, school.organisation_id)

    assert response.status_code == 200
    assert response.json()["fields"] == ["development_summary", "home_language"]
    assert client.get("/api/v1/policies").json()["engine"] == "opa"
    assert state.queries == 1


def test_policy_engine_down_is_503_never_an_allow(settings: Settings, session: Session) -> None:
    app = create_app(settings.model_copy(update={"opa_url": f"http://127.0.0.1:{free_port()}"}))
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)

    with TestClient(app, base_url=PUBLIC_URL) as client:
        response = post_preview(client, opvang, school.organisation_id)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:kindkoppeling:problem:service-unavailable"
    assert "allow" not in response.json()


def test_every_preview_is_recorded_without_values(client: TestClient, session: Session) -> None:
    from audit import store

    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)
    before = store.tree_size(session)

    post_preview(client, opvang, school.organisation_id)

    leaves = [leaf for index, leaf, _ in store.iter_leaves(session) if index >= before]
    assert len(leaves) == 1
    entry = json.loads(leaves[0])
    assert entry["action"] == "decision.preview"
    assert entry["outcome"] == "awaiting_consent"
    assert entry["fields"] == ["development_summary", "home_language"]
    assert entry["processing_activity_id"] == "urn:kindkoppeling:verwerking:warme-overdracht"
    assert entry["requester_id"] == school.organisation_id
    assert entry["extra"] == {"stripped_count": "1", "staff_role": "pedagogisch medewerker"}
    assert b"bsn" not in leaves[0]


def test_field_values_are_refused_where_names_belong(client: TestClient, session: Session) -> None:
    opvang = register(session, OrganisationRole.OPVANG)
    school = register(session, OrganisationRole.SCHOOL)

    response = post_preview(
        client, opvang, school.organisation_id, requested_fields=["Jan de Vries, 123456782"]
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/requested_fields/0"
