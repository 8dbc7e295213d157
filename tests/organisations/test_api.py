"""The organisation registry over HTTP: admin-only management, and /me for every client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.orm import Session

from audit import store
from gateway.organisations.identifiers import OrganisationRole
from tests.factories import access_token, bearer, register, request_token

PROBLEM = "application/problem+json"
ORGS = "/api/v1/organisations"


def test_admin_registers_lists_and_reads_an_organisation(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post(
        ORGS,
        json={"role": "school", "name": "De Kleine Prins", "identifier": "07 xy"},
        headers=admin,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["identifier"] == "07XY"
    assert body["status"] == "active"
    assert created.headers["location"] == f"{ORGS}/{body['id']}"
    assert (
        client.get(created.headers["location"], headers=admin).json()["name"] == "De Kleine Prins"
    )
    listed = client.get(ORGS, params={"role": "school"}, headers=admin).json()
    assert [o["id"] for o in listed["items"]] == [body["id"]]
    assert listed["total"] == 1


def test_duplicate_identifier_in_a_role_is_a_conflict(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"role": "leerplicht", "name": "Leerplicht Utrecht", "identifier": "GM0344"}
    assert client.post(ORGS, json=body, headers=admin).status_code == 201

    again = client.post(ORGS, json=body | {"identifier": "0344"}, headers=admin)

    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["type"] == "urn:kindkoppeling:problem:conflict"


def test_identifier_that_does_not_fit_the_role_names_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        ORGS,
        json={"role": "school", "name": "Nergensschool", "identifier": "123456789"},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:kindkoppeling:problem:validation-failed"
    assert body["errors"][0]["pointer"] == "#/identifier"
    assert "BRIN" in body["errors"][0]["detail"]


def test_unknown_fields_and_roles_are_validation_errors(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        ORGS,
        json={"role": "ziekenhuis", "name": "X", "identifier": "1", "colour": "red"},
        headers=admin,
    )

    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"#/role", "#/name", "#/colour"} <= pointers


def test_suspend_and_reactivate(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    school = register(session)

    suspended = client.patch(
        f"{ORGS}/{school.organisation_id}", json={"status": "suspended"}, headers=admin
    )
    assert suspended.json()["status"] == "suspended"
    assert request_token(client, school).status_code == 400

    client.patch(f"{ORGS}/{school.organisation_id}", json={"status": "active"}, headers=admin)
    assert request_token(client, school).status_code == 200


def test_registered_key_authenticates_the_organisation(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post(
        ORGS, json={"role": "swv", "name": "SWV Eemland", "identifier": "PO2604"}, headers=admin
    ).json()
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()

    added = client.post(
        f"{ORGS}/{created['id']}/keys", json={"jwk": key.as_dict(private=False)}, headers=admin
    )

    assert added.status_code == 201, added.text
    assert added.json()["kid"] == key.kid
    from tests.factories import RegisteredClient

    swv = RegisteredClient(created["id"], OrganisationRole.SWV, key)
    assert request_token(client, swv).status_code == 200


def test_private_key_is_refused_and_not_stored(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    school = register(session)
    key = ECKey.generate_key("P-256", private=True)

    response = client.post(
        f"{ORGS}/{school.organisation_id}/keys",
        json={"jwk": key.as_dict(private=True)},
        headers=admin,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/jwk"
    stored = client.get(f"{ORGS}/{school.organisation_id}", headers=admin).json()["keys"]
    assert all("d" not in k["jwk"] for k in stored)
    assert len(stored) == 1


def test_the_same_key_twice_is_a_conflict(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    school = register(session)

    again = client.post(
        f"{ORGS}/{school.organisation_id}/keys",
        json={"jwk": school.key.as_dict(private=False)},
        headers=admin,
    )

    assert again.status_code == 409


def test_unknown_organisation_is_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get(f"{ORGS}/00000000-0000-0000-0000-000000000000", headers=admin)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ORGS),
        ("POST", ORGS),
        ("GET", f"{ORGS}/some-id"),
        ("PATCH", f"{ORGS}/some-id"),
        ("POST", f"{ORGS}/some-id/keys"),
    ],
)
def test_admin_routes_refuse_exchange_clients(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    school = bearer(access_token(client, register(session)))

    response = client.request(method, path, headers=school, json={})

    assert response.status_code == 403
    assert response.json()["type"] == "urn:kindkoppeling:problem:insufficient-scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("path", [ORGS, f"{ORGS}/me", f"{ORGS}/some-id"])
def test_routes_need_a_token(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_me_shows_only_the_callers_own_organisation(client: TestClient, session: Session) -> None:
    school, opvang = register(session), register(session, OrganisationRole.OPVANG)

    me = client.get(f"{ORGS}/me", headers=bearer(access_token(client, opvang))).json()

    assert me["id"] == opvang.organisation_id
    assert me["id"] != school.organisation_id


@pytest.mark.parametrize("organisation_id", ["%00", "x" * 300, "1 OR 1=1", "%27%3B--"])
def test_odd_ids_are_404_not_errors(
    client: TestClient, admin: dict[str, str], organisation_id: str
) -> None:
    response = client.get(f"{ORGS}/{organisation_id}", headers=admin)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("name", ["Nul\x00byte", "Line\nbreak"])
def test_control_characters_in_names_are_refused(
    client: TestClient, admin: dict[str, str], name: str
) -> None:
    response = client.post(
        ORGS, json={"role": "school", "name": name, "identifier": "55AB"}, headers=admin
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/name"


def test_places_and_regions_are_validated_and_regions_of_a_sector_do_not_overlap(
    client: TestClient, admin: dict[str, str]
) -> None:
    def add(**body: object) -> Any:
        return client.post(ORGS, json=body, headers=admin)

    swv = add(role="swv", name="SWV PO Utrecht", identifier="PO2701", region=["0344", "GM1904"])
    school = add(role="school", name="De Linde", identifier="12AB", gemeente="gm0344")
    office = add(role="leerplicht", name="Leerplicht Utrecht", identifier="GM0344")
    assert swv.status_code == 201, swv.text
    assert swv.json()["region"] == ["GM0344", "GM1904"]
    assert school.json()["gemeente"] == "GM0344"
    assert office.json()["gemeente"] == "GM0344"  # its own

    overlap = add(role="swv", name="Ander PO", identifier="PO2702", region=["GM1904"])
    other_sector = add(role="swv", name="VO Utrecht", identifier="VO2701", region=["GM1904"])
    assert overlap.status_code == 409 and "GM1904" in overlap.json()["detail"]
    assert other_sector.status_code == 201
    for body, pointer in (
        ({"role": "school", "identifier": "34CD", "region": ["GM0344"]}, "#/region"),
        ({"role": "swv", "identifier": "PO2703", "gemeente": "GM0344"}, "#/gemeente"),
        ({"role": "school", "identifier": "56EF", "gemeente": "Utrecht"}, "#/gemeente"),
        ({"role": "leerplicht", "identifier": "GM0307", "gemeente": "GM0344"}, "#/gemeente"),
    ):
        refused = add(name="Onjuist", **body)
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0]["pointer"].startswith(pointer)


def test_a_removed_key_gets_no_new_token_and_its_removal_is_audited(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    school = register(session)
    path = f"{ORGS}/{school.organisation_id}/keys/{school.key.kid}"
    assert request_token(client, school).status_code == 200

    removed = client.delete(path, headers=admin)
    again = client.delete(path, headers=admin)
    refused = request_token(client, school)

    assert removed.status_code == 204
    assert again.status_code == 404
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert client.get(f"{ORGS}/{school.organisation_id}", headers=admin).json()["keys"] == []
    session.expire_all()
    entries = [json.loads(leaf) for _, leaf, _ in store.iter_leaves(session)]
    [removal] = [e for e in entries if e["action"] == "admin.organisation.key.remove"]
    assert removal["extra"]["kid"] == school.key.kid
    assert removal["subject"] == school.organisation_id
