"""Hostile input: oversize and deeply nested bodies, broken encodings, huge numbers, unknown
fields, and injection strings in every free-text field. Each gets a problem+json 4xx or is
stored exactly as sent; none is a 5xx, none changes anything else, and the portal shows the
hostile text as text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine, inspect

from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.service import find_organisation
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.portal.family import NOOR, as_officer, log_in, offer_warm, parent
from tests.portal.live import LiveGateway
from tests.tally import TALLY

PROBLEM = "application/problem+json"
INJECTIONS = [
    "'; DROP TABLE exchanges; --",
    '" OR "1"="1',
    "<script>alert('kk')</script>",
    '<img src=x onerror="alert(1)">',
    "{{ 7 * 7 }} ${7*7} %(x)s",
    "nul\u0000byte",
    "\u202e\u0645\u0631\u062d\u0628\u0627 \U0001f476",
]
BODY_ROUTES = [
    ("POST", "/api/v1/exchanges"),
    ("PUT", "/api/v1/children/guardians"),
    ("PUT", "/api/v1/children/safety-code"),
    ("POST", "/api/v1/decisions/preview"),
    ("POST", "/api/v1/organisations"),
]
HOSTILE_BODIES = {
    "deeply nested arrays": b"[" * 200_000 + b"]" * 200_000,
    "deeply nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "invalid UTF-8": b'{"purpose": "\xff\xfe\xfd"}',
    "a 100 000 digit integer": b'{"requested_fields": [], "n": ' + b"9" * 100_000 + b"}",
    "an infinite float": b'{"requested_level": 1e999999}',
    "NaN": b'{"purpose": NaN}',
    "a lone surrogate": b'{"purpose": "\\ud800"}',
    "truncated": b'{"purpose": "warme-',
    "not JSON at all": b"\x00\x01\x02",
    "an array instead of an object": b"[]",
}


def send(world: World, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    response = world.client.request(
        method, path, content=body, headers={**headers, "content-type": "application/json"}
    )
    TALLY["abuse_requests"] += 1
    assert response.status_code < 500, (method, path, response.text)
    return response


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_bodies_get_a_problem_not_a_crash(world: World, name: str) -> None:
    world.add("operator", OrganisationRole.GATEWAY)
    for method, path in BODY_ROUTES:
        headers = world.operator.headers if "organisations" in path else world.school.headers
        response = send(world, method, path, HOSTILE_BODIES[name], headers)
        assert response.status_code in {400, 422}, (name, path, response.status_code)
        assert response.headers["content-type"] == PROBLEM


def test_hostile_payloads_are_refused_or_kept_exactly(world: World) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    world.grant_all(exchange_id)
    path = f"/api/v1/exchanges/{exchange_id}/payload"
    for name, body in HOSTILE_BODIES.items():
        response = send(world, "PUT", path, body, world.kinderopvang.headers)
        assert response.status_code in {400, 422}, (name, response.text)
    oversize = json.dumps({"development_summary": "x" * (2 * 1024 * 1024)}).encode()
    assert send(world, "PUT", path, oversize, world.kinderopvang.headers).status_code == 413
    unknown = {**WARM_PAYLOAD, "diagnosis": "never stored", "extra": {"deep": [1, 2, 3]}}
    response = send(world, "PUT", path, json.dumps(unknown).encode(), world.kinderopvang.headers)
    assert response.status_code in {200, 422}, response.text
    if response.status_code == 200:
        fetched = world.fetch(world.school, exchange_id).json()["fields"]
        assert "diagnosis" not in fetched and "extra" not in fetched


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_in_free_text_are_refused_or_kept_exactly(
    world: World, engine: Engine, text: str
) -> None:
    tables = set(inspect(engine).get_table_names())
    world.guardians(world.school, NOOR, {"relation": "moeder", "gezag": True})
    body = {
        "purpose": "zorg-afstemming",
        "direction": "request",
        "counterparty_id": world.kinderopvang.id,
        "child": NOOR,
        "requested_fields": ["what_helps_in_class"],
        "reason": text,
    }
    created = send(
        world, "POST", "/api/v1/exchanges", json.dumps(body).encode(), world.school.headers
    )
    assert created.status_code in {201, 422}, created.text
    for path in ("/api/v1/exchanges", "/api/v1/audit/entries"):
        for parameter in ("purpose", "action", "status"):
            listed = world.client.get(path, params={parameter: text}, headers=world.school.headers)
            TALLY["abuse_requests"] += 1
            assert listed.status_code in {200, 422}, listed.text
    if created.status_code == 201:
        exchange_id = created.json()["id"]
        withdrawn = send(
            world,
            "POST",
            f"/api/v1/exchanges/{exchange_id}/withdrawal",
            json.dumps({"reason": text}).encode(),
            world.school.headers,
        )
        assert withdrawn.status_code in {200, 422}, withdrawn.text
        assert world.read(world.school, exchange_id).status_code == 200
    assert set(inspect(engine).get_table_names()) == tables


@pytest.mark.parametrize("text", INJECTIONS[2:4])
def test_the_portal_shows_hostile_text_as_text(live: LiveGateway, world: World, text: str) -> None:
    world.add("operator", OrganisationRole.GATEWAY)
    registered = world.client.post(
        "/api/v1/organisations",
        json={"role": "school", "name": f"School {text}", "identifier": "99XX"},
        headers=world.operator.headers,
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["name"] == f"School {text}"
    school = find_organisation(world.session, world.school.id)
    assert school is not None
    school.name = f"School {text}"  # the one that asks the parent and receives the notice
    world.session.commit()
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    world.create(
        world.kinderopvang,
        world.school,
        "plaatsing-opvang",
        ["safe_place_notice"],
        child=NOOR,
        break_glass={"justification": f"Acuut: {text}"},
    )
    officer = as_officer(live, world, "fg-regenboog", world.school.id)
    pages = [
        officer.get("/portaal/fg/break-glass").text,
        log_in(live, "fatma").get("/portaal").text,
    ]
    for page in pages:
        assert str(escape(text)) in page
        assert text not in page
    TALLY["abuse_requests"] += len(pages)


def test_unknown_fields_in_api_bodies_are_named_in_a_422(world: World) -> None:
    body = {"relation": "moeder", "gezag": True, "is_admin": True}
    response = world.client.put(
        "/api/v1/children/guardians",
        json={**NOOR, "guardians": [body]},
        headers=world.school.headers,
    )
    TALLY["abuse_requests"] += 1
    assert response.status_code == 422
    pointers = [e.get("pointer") for e in response.json()["errors"]]
    assert "#/guardians/0/is_admin" in pointers


def test_a_client_cannot_choose_its_request_id_to_forge_log_lines(client: TestClient) -> None:
    forged = "abc\r\nX-Injected: yes"
    response = client.get("/health/live", headers={"X-Request-ID": forged.encode()})
    TALLY["abuse_requests"] += 1
    assert response.headers["x-request-id"] != forged
    assert "x-injected" not in response.headers
