"""Broken object-level authorisation, swept: every route that names an object, called with real
ids of someone else's objects, by an unrelated organisation, an unrelated parent and an
unrelated privacy officer. Never a 2xx, never a byte of the object.

The routes come from the OpenAPI document and from the portal's routers, so a new object route
joins the sweep by itself, and fails it until ``ids`` says which object it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from gateway.api_document import served_paths
from gateway.auth.certificates import thumbprint
from gateway.consent.models import ConsentStatus
from gateway.organisations import certificates
from gateway.portal import family_pages, officer_pages
from gateway.settings import Settings
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.factories import TEST_ACTOR, bearer
from tests.mtls import serving_mutual_tls
from tests.pki import self_signed
from tests.portal.family import NOOR, as_officer, break_glass, offer_warm, parent
from tests.portal.live import LiveGateway, csrf_of, log_in
from tests.tally import TALLY

PATH_PARAM = re.compile(r"{(\w+)}")
NOT_YOURS = {401, 403, 404}


@dataclass
class Objects:
    """Someone else's objects: a delivered warme overdracht with its consents, a break-glass
    exchange, and the organisations involved."""

    ids: dict[str, str]
    secrets: list[str]  # what must never appear in a response to an outsider


@pytest.fixture
def objects(live: LiveGateway, world: World) -> Objects:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"), parent("vader", "pieter"))
    world.grant_all(exchange_id)
    delivered = world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD)
    assert delivered.status_code == 200, delivered.text
    consent = world.consents(exchange_id)[0]
    assert consent.status == ConsentStatus.ACTIVE
    webhook = world.client.post(
        "/api/v1/webhooks",
        json={"url": "https://lvs.example/hooks", "event_types": ["exchange.delivered"]},
        headers=world.kinderopvang.headers,
    ).json()
    staff = {"staff_id": "pm-0007", "display_name": "Geheime Medewerker", "role": "mentor"}
    registered = world.client.post(
        "/api/v1/organisations/me/staff", json=staff, headers=world.kinderopvang.headers
    )
    assert registered.status_code == 201, registered.text
    certificate = self_signed("LVS koppeling", "Kinderopvang")
    certificates.add_certificate(
        world.session, world.kinderopvang.id, certificate.pem, actor=TEST_ACTOR, ca_bundle=None
    )
    return Objects(
        ids={
            "exchange_id": exchange_id,
            "consent_id": consent.id,
            "organisation_id": world.kinderopvang.id,
            "child_id": consent.child_id,
            "break_glass_id": break_glass(world),
            "webhook_id": webhook["id"],
            "staff_id": staff["staff_id"],
            "kid": str(world.kinderopvang.registered.key.kid),
            "thumbprint": thumbprint(certificate.certificate),
        },
        secrets=[
            *WARM_PAYLOAD.values(),
            NOOR["bsn"],
            consent.child_id,
            webhook["secret"],
            staff["display_name"],
        ],
    )


# Routes with a path parameter that names no organisation's object: public by design.
PUBLIC = {
    "/api/v1/audit/tile/{tile_path}": "hash tiles reveal no entry (ADR 0012; tests/auditing)",
}


def api_object_routes(live: LiveGateway) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in served_paths(live.app.openapi()).items()
        if PATH_PARAM.search(path) and path not in PUBLIC
        for method in operations
    ]


def portal_object_routes() -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for router in (family_pages.router, officer_pages.router)
        for route in router.routes
        if isinstance(route, APIRoute) and PATH_PARAM.search(route.path)
        for method in sorted(route.methods)
    ]


def fill(path: str, ids: dict[str, str], *, portal: bool = False) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if portal and path.startswith("/portaal/fg/break-glass/"):
            name = "break_glass_id"
        assert name in ids, f"the sweep does not know which object {{{name}}} in {path} names"
        return ids[name]

    return PATH_PARAM.sub(value, path)


# Bodies that would be accepted from the right party, so only authorisation can refuse them.
API_BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/api/v1/exchanges/{exchange_id}/payload"): WARM_PAYLOAD,
    ("POST", "/api/v1/exchanges/{exchange_id}/withdrawal"): {"reason": "Toch niet nodig."},
    ("PATCH", "/api/v1/organisations/{organisation_id}"): {"status": "suspended"},
}


def assert_nothing_leaks(response: httpx.Response, objects: Objects, who: str) -> None:
    assert response.status_code in NOT_YOURS, (who, response.request.url, response.status_code)
    for secret in objects.secrets:
        assert secret not in response.text, (who, response.request.url, secret)
    TALLY["bola_requests"] += 1


def test_no_api_object_route_serves_an_unrelated_organisation(
    live: LiveGateway, world: World, objects: Objects
) -> None:
    routes = api_object_routes(live)
    assert len(routes) >= 8  # exchanges, payloads, consents, organisations
    outsiders = [world.stranger, world.other_school, world.swv, world.leerplicht, world.shelter]
    for method, path in routes:
        url = fill(path, objects.ids)
        for outsider in outsiders:
            response = world.client.request(
                method, url, json=API_BODIES.get((method, path), {}), headers=outsider.headers
            )
            if method != "GET":
                # Refused for lack of right, not for a malformed request.
                assert response.status_code in NOT_YOURS, (method, url, response.text)
            assert_nothing_leaks(response, objects, outsider.id)
            assert response.headers["content-type"] == "application/problem+json"
    TALLY["routes_swept"] += len(routes)

    # The ids were real: the parties themselves still reach what outsiders could not.
    exchange_id = objects.ids["exchange_id"]
    assert world.read(world.kinderopvang, exchange_id).status_code == 200
    assert world.fetch(world.school, exchange_id).json()["fields"] == WARM_PAYLOAD
    consent = world.client.get(
        f"/api/v1/consents/{objects.ids['consent_id']}", headers=world.school.headers
    )
    assert consent.status_code == 200


def assert_nothing_leaks_in_a_list(response: httpx.Response, objects: Objects) -> None:
    for secret in [*objects.secrets, objects.ids["exchange_id"], objects.ids["break_glass_id"]]:
        assert secret not in response.text, (response.request.url, secret)
    TALLY["bola_requests"] += 1


def test_lists_and_the_log_show_an_unrelated_organisation_nothing_of_others(
    live: LiveGateway, world: World, objects: Objects
) -> None:
    for path in ("/api/v1/exchanges", "/api/v1/audit/entries"):
        for role in ("recipient", "source", None):
            params = {"role": role} if role and path.endswith("exchanges") else {}
            response = world.client.get(path, params=params, headers=world.stranger.headers)
            assert response.status_code == 200, response.text
            for item in response.json()["items"]:  # its own reads of the log, at most
                assert item.get("id") not in objects.ids.values()
                assert item.get("entry", {}).get("exchange_id") not in objects.ids.values()
            assert_nothing_leaks_in_a_list(response, objects)
    mine = world.client.get("/api/v1/exchanges", headers=world.school.headers).json()
    assert objects.ids["exchange_id"] in {item["id"] for item in mine["items"]}


def outsider(live: LiveGateway, world: World, person: str) -> tuple[httpx.Client, str]:
    """A logged-in parent of another family, or the officer of an unrelated school, with the
    CSRF token of their own session."""
    if person == "fg-regenboog":
        browser = as_officer(live, world, person, world.stranger.id)
        return browser, csrf_of(browser.get("/portaal/fg/break-glass").text)
    browser = log_in(live, person)
    return browser, csrf_of(browser.get("/portaal").text)


@pytest.mark.parametrize("person", ["karin", "fg-regenboog"])
def test_parents_and_officers_sessions_open_no_api_route(
    live: LiveGateway, world: World, objects: Objects, person: str
) -> None:
    browser, _ = outsider(live, world, person)
    for method, path in api_object_routes(live):
        response = browser.request(method, fill(path, objects.ids), json={})
        assert response.status_code == 401, (person, method, path)
        assert_nothing_leaks(response, objects, person)


@pytest.mark.parametrize("person", ["karin", "fg-regenboog"])
def test_no_portal_object_route_serves_an_unrelated_parent_or_officer(
    live: LiveGateway, world: World, objects: Objects, person: str
) -> None:
    browser, token = outsider(live, world, person)
    routes = portal_object_routes()
    assert len(routes) >= 6
    for method, path in routes:
        url = fill(path, objects.ids, portal=True)
        data = (
            {"csrf_token": token, "answer": "grant", "note": "Gezien."}
            if method == "POST"
            else None
        )
        response = browser.request(method, url, data=data, follow_redirects=False)
        if response.status_code in {302, 303}:  # sent elsewhere: to a login or a role's home
            assert "/portaal/inloggen" in response.headers["location"] or person != "karin"
            response = browser.get(response.headers["location"])
            assert objects.ids["exchange_id"] not in response.text
            TALLY["bola_requests"] += 1
            continue
        assert_nothing_leaks(response, objects, person)
    TALLY["routes_swept"] += len(routes)


def test_the_rightful_parent_and_officer_do_reach_those_pages(
    live: LiveGateway, world: World, objects: Objects
) -> None:
    """The control: the same ids open for the people they belong to, so the sweep's refusals
    are about who asks, not about ids that lead nowhere."""
    fatma = log_in(live, "fatma")
    history = fatma.get(f"/portaal/kinderen/{objects.ids['child_id']}/geschiedenis")
    assert history.status_code == 200, history.text
    # A consent is one parent's: exactly one of the two may revoke it.
    revoke = f"/portaal/toestemmingen/{objects.ids['consent_id']}/intrekken"
    answers = sorted(log_in(live, p).get(revoke).status_code for p in ("fatma", "pieter"))
    assert answers == [200, 404]
    officer = as_officer(live, world, "fg-regenboog", world.school.id)
    assert "acuut risico" in officer.get("/portaal/fg/break-glass").text


def test_over_mutual_tls_no_api_object_route_serves_an_unrelated_organisation(
    live: LiveGateway, world: World, objects: Objects, tmp_path: Path
) -> None:
    """The same sweep over the mTLS path: ``gateway serve`` terminating TLS, each outsider
    presenting its own PKI certificate with a token bound to it (RFC 8705)."""
    outsiders = [world.stranger, world.other_school, world.swv, world.leerplicht, world.shelter]
    routes = api_object_routes(live)
    settings: Settings = live.app.state.settings  # the world's issuer, audience and keys
    with serving_mutual_tls(settings, tmp_path) as gateway:
        callers = []
        for number, outsider in enumerate([*outsiders, world.kinderopvang]):
            oin = f"0000000100{number:010d}"
            certificate = gateway.enrol(world.session, outsider.id, oin, f"Partij {number}")
            issued = gateway.token(outsider.registered, certificate)
            assert issued.status_code == 200, issued.text
            callers.append((gateway.client(certificate), bearer(issued.json()["access_token"])))
        *strangers, (source, source_token) = callers
        for method, path in routes:
            url = fill(path, objects.ids)
            for tls_client, token in strangers:
                response = tls_client.request(
                    method, url, json=API_BODIES.get((method, path), {}), headers=token
                )
                assert_nothing_leaks(response, objects, f"{method} {path} over mTLS")
        # The ids were real: the source, over its own certificate, still reaches its exchange.
        own = source.get(f"/api/v1/exchanges/{objects.ids['exchange_id']}", headers=source_token)
        for tls_client, _ in callers:
            tls_client.close()
    assert own.status_code == 200
    TALLY["routes_swept"] += len(routes)
