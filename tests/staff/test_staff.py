"""Named staff: the register an organisation keeps, tokens on a staff member's behalf (RFC 8693
token exchange), calls about children refused without one, and the entries that name them."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from audit import store
from gateway.auth.assertions import sign_client_assertion
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import WARM_PAYLOAD, YOUNG, Party, World
from tests.factories import TEST_STAFF_ID, access_token, bearer, register
from tests.portal.family import NOOR, offer_warm, parent

STAFF = "/api/v1/organisations/me/staff"
IB = {"staff_id": "ib-0042", "display_name": "J. de Vries", "role": "intern begeleider"}


def own_headers(world: World, party: Party) -> dict[str, str]:
    """The organisation's own token (client credentials): for its register, not for children."""
    return bearer(access_token(world.client, party.registered, own=True))


def staff_headers(world: World, party: Party, staff_id: str) -> dict[str, str]:
    response = world.client.post("/oauth/token", data=party.registered.staff_form(staff_id))
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def leaves(session: Session) -> list[dict[str, Any]]:
    session.expire_all()
    return [json.loads(leaf) for _, leaf, _ in store.iter_leaves(session)]


def test_an_organisation_keeps_its_own_staff_register(world: World) -> None:
    client, own = world.client, own_headers(world, world.school)

    created = client.post(STAFF, json=IB, headers=own)
    again = client.post(STAFF, json={**IB, "display_name": "Iemand anders"}, headers=own)
    changed = client.patch(f"{STAFF}/ib-0042", json={"role": "zorgcoördinator"}, headers=own)
    listed = client.get(STAFF, headers=own).json()
    elsewhere = client.get(STAFF, headers=own_headers(world, world.other_school)).json()
    removed = client.delete(f"{STAFF}/ib-0042", headers=own)
    reused = client.post(STAFF, json=IB, headers=own)

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{STAFF}/ib-0042"
    assert again.status_code == 409
    assert changed.json()["role"] == "zorgcoördinator"
    assert [m["staff_id"] for m in listed["items"]] == ["ib-0042", TEST_STAFF_ID]
    assert [m["staff_id"] for m in elsewhere["items"]] == [TEST_STAFF_ID]
    assert removed.status_code == 204
    assert client.get(f"{STAFF}/ib-0042", headers=own).status_code == 404
    assert reused.status_code == 409  # the log names people by id: never someone else's
    changes = [e for e in leaves(world.session) if e["action"].startswith("staff.")]
    assert [e["action"] for e in changes] == ["staff.register", "staff.update", "staff.remove"]
    assert all(e["actor"]["id"] == world.school.id for e in changes)
    assert "J. de Vries" not in json.dumps(changes)  # ids and roles, never names


def test_a_staff_id_that_could_identify_someone_is_refused_with_its_field(world: World) -> None:
    own = own_headers(world, world.school)

    for staff_id in ("j.devries@school.nl", "", "-leading", "x" * 65):
        response = world.client.post(STAFF, json={**IB, "staff_id": staff_id}, headers=own)
        assert response.status_code == 422, staff_id
        assert response.headers["content-type"] == "application/problem+json"
        assert "staff_id" in json.dumps(response.json()["errors"])


def test_a_token_on_behalf_of_a_staff_member_names_them_and_the_acting_client(
    world: World,
) -> None:
    world.client.post(STAFF, json=IB, headers=own_headers(world, world.school))

    response = world.client.post("/oauth/token", data=world.school.registered.staff_form("ib-0042"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    keys = world.client.get("/.well-known/jwks.json").json()
    claims = jwt.decode(body["access_token"], ECKey.import_key(keys["keys"][0])).claims
    assert claims["sub"] == "ib-0042"
    assert claims["client_id"] == world.school.id
    assert claims["act"] == {"sub": world.school.id}  # RFC 8693 §4.1: the acting party


def test_the_token_exchange_refuses_staff_it_cannot_vouch_for(
    client: TestClient, session: Session, settings: Any
) -> None:
    school = register(session, token_url=settings.token_url)
    other = register(session, token_url=settings.token_url)
    operator = register(session, OrganisationRole.GATEWAY, token_url=settings.token_url)
    form = school.staff_form()

    def exchange(**changes: str | None) -> Any:
        data = {k: v for k, v in {**form, **changes}.items() if v is not None}
        data["client_assertion"] = school.assertion()  # a fresh one each time (jti)
        return client.post("/oauth/token", data=data)

    def subject(**claims: Any) -> str:
        return sign_client_assertion(
            school.key, school.organisation_id, settings.token_url, claims=claims
        )

    refusals = {
        "unregistered": exchange(subject_token=subject(sub="nobody")),
        "another organisation's key": exchange(
            subject_token=sign_client_assertion(
                other.key, school.organisation_id, settings.token_url, claims={"sub": "staff-1"}
            )
        ),
        "another audience": exchange(
            subject_token=subject(sub="staff-1", aud="https://elsewhere.example")
        ),
        "another issuer": exchange(subject_token=subject(sub="staff-1", iss=other.organisation_id)),
        "expired": exchange(subject_token=subject(sub="staff-1", exp=int(time.time()) - 120)),
        "too long-lived": exchange(
            subject_token=subject(sub="staff-1", exp=int(time.time()) + 86_400)
        ),
        "not a staff id": exchange(subject_token=subject(sub="a@b.nl")),
        "no subject token": exchange(subject_token=None),
        "wrong type": exchange(subject_token_type="urn:ietf:params:oauth:token-type:id_token"),
        "an actor token": exchange(actor_token="x", actor_token_type=form["subject_token_type"]),
        "another token type": exchange(
            requested_token_type="urn:ietf:params:oauth:token-type:refresh_token"
        ),
    }
    operator_form = operator.staff_form("staff-1")

    for reason, response in refusals.items():
        assert response.status_code == 400, reason
        assert response.json()["error"] == "invalid_request", reason
    assert client.post("/oauth/token", data=operator_form).json()["error"] == (
        "unauthorized_client"
    )
    assert exchange().status_code == 200  # the same request, unchanged, is fine


def test_calls_about_children_need_a_staff_member_and_lose_them_on_removal(
    world: World,
) -> None:
    client, own = world.client, own_headers(world, world.school)
    client.post(STAFF, json=IB, headers=own)
    ib = staff_headers(world, world.school, "ib-0042")
    guardians = {**YOUNG, "guardians": [{"bsn": "999993653", "relation": "parent"}]}

    anonymous_call = client.get("/api/v1/exchanges", headers=own)
    allowed = client.get("/api/v1/exchanges", headers=ib)
    client.delete(f"{STAFF}/ib-0042", headers=own)
    after_removal = client.get("/api/v1/exchanges", headers=ib)
    own_register = client.get(STAFF, headers=own)

    assert anonymous_call.status_code == 403
    assert anonymous_call.json()["type"] == "urn:kindkoppeling:problem:staff-required"
    assert client.get("/api/v1/consents/unknown", headers=own).status_code == 403
    assert client.post("/api/v1/decisions/preview", json={}, headers=own).status_code == 403
    refused = client.put("/api/v1/children/guardians", json=guardians, headers=own)
    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert after_removal.status_code == 401
    assert "ib-0042" in after_removal.json()["detail"]
    assert own_register.status_code == 200  # the register itself needs no staff member


def test_every_entry_of_a_staff_members_calls_names_them_and_their_role(world: World) -> None:
    world.client.post(STAFF, json=IB, headers=own_headers(world, world.school))
    ib = staff_headers(world, world.school, "ib-0042")

    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    world.grant_all(exchange_id)
    world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD)
    fetched = world.client.get(f"/api/v1/exchanges/{exchange_id}/payload", headers=ib)

    assert fetched.status_code == 200, fetched.text
    entries = [e for e in leaves(world.session) if e["exchange_id"] == exchange_id]
    by_school = [e for e in entries if e["actor"]["id"] == world.school.id]
    by_opvang = [e for e in entries if e["actor"]["id"] == world.kinderopvang.id]
    assert {e["action"] for e in by_school} == {"fetch"}
    assert {e["action"] for e in by_opvang} >= {"decision", "delivery"}
    assert all(e["on_behalf_of"] == "ib-0042" for e in by_school)
    assert all(e["extra"]["staff_role"] == "intern begeleider" for e in by_school)
    assert by_opvang and all(e["on_behalf_of"] == TEST_STAFF_ID for e in by_opvang)
    assert all(e["extra"]["staff_role"] == "pedagogisch medewerker" for e in by_opvang)
