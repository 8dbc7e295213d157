"""Writes that race. Every write route gets the same request four times at once, and where it
makes sense four conflicting ones about the same thing, against a real server on loopback
(uvicorn, its worker threads, the database's own locking), on SQLite and on PostgreSQL. No answer
may be a 5xx: a unique key taken by a concurrent request is a 409, or the winner's result.
(Not raced: the officers' ``audit/entries/_search``, a read behind a portal login.)

Seen before the fix: four identical staff registrations gave a 500 in 5 to 8 of 20 rounds
(``UNIQUE constraint failed``), four first records of a new child's guardians one in 15.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, Party, World, make_world
from tests.factories import access_token, bearer, register, with_check_digit
from tests.pki import self_signed
from tests.portal.live import LiveGateway, live_gateway
from tests.tally import TALLY

AT_ONCE = 4
NAMED_ROUNDS = 15  # the two races the issue names, as often as it saw them
SWEEP_ROUNDS = 3
UTRECHT = "GM0344"
STAFF = "/api/v1/organisations/me/staff"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None  # the JSON body; for method "FORM", the form of a token request


@pytest.fixture
def live(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway(database_url, tmp_path / "var", rate_limit="1000000/minute") as gateway:
        yield gateway


@pytest.fixture
def world(live: LiveGateway, session: Session) -> World:
    world = make_world(TestClient(live.app, base_url=live.url), session)
    world.add("utrecht", OrganisationRole.LEERPLICHT, identifier=UTRECHT)
    world.add("region", OrganisationRole.SWV, identifier="PO2798", region=[UTRECHT])
    return world


def at_once(live: LiveGateway, calls: list[Call]) -> list[int]:
    """Send ``calls`` together (each on its own connection, released by one barrier)."""
    barrier = threading.Barrier(len(calls))

    def send(call: Call) -> int:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            barrier.wait()
            if call.method == "FORM":
                response = client.post(call.path, data=call.json)
            else:
                response = client.request(
                    call.method, call.path, headers=call.headers, json=call.json
                )
            return response.status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        statuses = list(pool.map(send, calls))
    TALLY["abuse_requests"] += len(calls)
    return statuses


def no_server_error(statuses: list[int], what: str) -> None:
    assert not [s for s in statuses if s >= 500], f"{what}: {statuses}"


_numbers = iter(range(40_000_000, 49_999_999))


def new_child() -> dict[str, str]:
    """A child the gateway has never seen."""
    for number in _numbers:
        if bsn := with_check_digit(f"{number:08d}"):
            return {"bsn": bsn, "birth_date": "2015-04-01"}
    raise AssertionError("out of BSNs")


def own(world: World, party: Party) -> dict[str, str]:
    """The organisation's own token: for its staff register and webhooks."""
    return bearer(access_token(world.client, party.registered, own=True))


def test_identical_staff_registrations_at_once_give_one_201_and_409s(
    live: LiveGateway, world: World
) -> None:
    headers = own(world, world.school)
    for n in range(NAMED_ROUNDS):
        body = {"staff_id": f"ib-{n:04d}", "display_name": "J. de Vries", "role": "ib'er"}
        statuses = at_once(live, [Call("POST", STAFF, headers, body)] * AT_ONCE)

        no_server_error(statuses, f"round {n}")
        assert sorted(statuses) == [201] + [409] * (AT_ONCE - 1), statuses


def test_first_records_of_a_new_childs_guardians_at_once_never_fail(
    live: LiveGateway, world: World
) -> None:
    for n in range(NAMED_ROUNDS):
        body = {**new_child(), "guardians": [{"relation": "moeder", "gezag": True}]}
        calls = [Call("PUT", "/api/v1/children/guardians", world.school.headers, body)] * AT_ONCE
        statuses = at_once(live, calls)

        no_server_error(statuses, f"round {n}")
        assert set(statuses) <= {200, 409}, statuses
        assert 200 in statuses


class Sweep:
    """For each write route, a fresh set of racing calls (identical, or conflicting)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.school, self.source = world.school, world.kinderopvang
        self.own = own(world, self.school)
        self.token_url = world.app.state.settings.token_url
        operator = register(world.session, OrganisationRole.GATEWAY, token_url=self.token_url)
        self.admin = bearer(access_token(world.client, operator))

    def routes(self) -> dict[str, Callable[[], list[Call]]]:
        return {
            "POST staff, identical": self.staff_registered,
            "PATCH staff, conflicting": lambda: self.staff_changed("PATCH"),
            "DELETE staff, identical": lambda: self.staff_changed("DELETE"),
            "PUT guardians, conflicting": self.guardians,
            "PUT safety-code, conflicting": self.safety_codes,
            "POST exchanges, identical": self.exchanges_created,
            "PUT payload, identical": self.payloads,
            "POST withdrawal, identical": self.withdrawals,
            "POST absence-reports, identical": self.absence_reports,
            "POST exemptions, identical": self.exemptions,
            "POST exemption-checks, identical": self.exemption_checks,
            "POST webhooks, identical": self.webhooks_created,
            "PATCH webhook, conflicting": lambda: self.webhook_changed("PATCH"),
            "DELETE webhook, identical": lambda: self.webhook_changed("DELETE"),
            "POST organisations, identical": self.organisations_created,
            "PATCH organisation, conflicting": self.organisation_status,
            "POST keys, identical": self.keys_added,
            "DELETE key, identical": self.key_removed,
            "POST decisions/preview, identical": self.previews,
            "POST placement, identical": self.placements,
            "POST certificates, identical": self.certificates_added,
            "DELETE certificate, identical": self.certificate_removed,
            "POST /oauth/token, identical": self.tokens,
        }

    def another_school(self) -> str:
        return register(self.world.session, token_url=self.token_url).organisation_id

    def same(self, call: Call) -> list[Call]:
        return [call] * AT_ONCE

    def staff_registered(self) -> list[Call]:
        body = {"staff_id": f"x-{uuid.uuid4().hex[:8]}", "display_name": "X", "role": "mentor"}
        return self.same(Call("POST", STAFF, self.own, body))

    def staff_changed(self, method: str) -> list[Call]:
        staff_id = f"mw-{uuid.uuid4().hex[:8]}"
        body = {"staff_id": staff_id, "display_name": "A. Bakker", "role": "mentor"}
        assert self.world.client.post(STAFF, json=body, headers=self.own).status_code == 201
        path = f"{STAFF}/{staff_id}"
        if method == "DELETE":
            return self.same(Call("DELETE", path, self.own))
        return [Call("PATCH", path, self.own, {"role": f"rol {n}"}) for n in range(AT_ONCE)]

    def guardians(self) -> list[Call]:
        child = new_child()
        return [
            Call(
                "PUT",
                "/api/v1/children/guardians",
                self.source.headers,
                {**child, "guardians": [{"relation": relation, "gezag": True}]},
            )
            for relation in ("moeder", "vader", "voogd", "moeder")
        ]

    def safety_codes(self) -> list[Call]:
        child = new_child()
        return [
            Call(
                "PUT",
                "/api/v1/children/safety-code",
                self.world.shelter.headers,
                {**child, "safety_code": code},
            )
            for code in ("rood", "oranje", "groen", "rood")
        ]

    def _warm(self, child: dict[str, str]) -> dict[str, Any]:
        return {
            "purpose": "warme-overdracht",
            "direction": "offer",
            "counterparty_id": self.school.id,
            "child": child,
            "requested_fields": WARM_FIELDS,
        }

    def exchanges_created(self) -> list[Call]:
        child = new_child()
        self.world.guardians(self.source, child, {"relation": "moeder", "gezag": True})
        return self.same(Call("POST", "/api/v1/exchanges", self.source.headers, self._warm(child)))

    def _awaiting_delivery(self) -> str:
        child = new_child()
        self.world.guardians(self.source, child, {"relation": "moeder", "gezag": True})
        created = self.world.create(
            self.source, self.school, "warme-overdracht", WARM_FIELDS, child=child
        )
        self.world.grant_all(created["id"])
        return str(created["id"])

    def payloads(self) -> list[Call]:
        path = f"/api/v1/exchanges/{self._awaiting_delivery()}/payload"
        return self.same(Call("PUT", path, self.source.headers, WARM_PAYLOAD))

    def withdrawals(self) -> list[Call]:
        path = f"/api/v1/exchanges/{self._awaiting_delivery()}/withdrawal"
        return self.same(Call("POST", path, self.source.headers, {"reason": "dubbel"}))

    def absence_reports(self) -> list[Call]:
        body = {"child": new_child(), "gemeente": UTRECHT, "absent_since": "2026-09-01"}
        return self.same(Call("POST", "/api/v1/absence-reports", self.school.headers, body))

    def exemptions(self) -> list[Call]:
        body = {"child": new_child(), "article": "5 onder a", "valid_until": "2027-07-31"}
        return self.same(Call("POST", "/api/v1/exemptions", self.world.utrecht.headers, body))

    def exemption_checks(self) -> list[Call]:
        body = {"child": new_child(), "gemeente": UTRECHT}
        return self.same(Call("POST", "/api/v1/exemption-checks", self.world.region.headers, body))

    def webhooks_created(self) -> list[Call]:
        body = {
            "url": f"https://lvs{uuid.uuid4().hex[:6]}.example/h",
            "event_types": ["exchange.delivered"],
        }
        return self.same(Call("POST", "/api/v1/webhooks", self.own, body))

    def webhook_changed(self, method: str) -> list[Call]:
        body = {"url": "https://lvs.school.example/hooks", "event_types": ["exchange.delivered"]}
        made = self.world.client.post("/api/v1/webhooks", json=body, headers=self.own)
        assert made.status_code == 201, made.text
        path = f"/api/v1/webhooks/{made.json()['id']}"
        if method == "DELETE":
            return self.same(Call("DELETE", path, self.own))
        return [Call("PATCH", path, self.own, {"paused": n % 2 == 0}) for n in range(AT_ONCE)]

    def organisations_created(self) -> list[Call]:
        letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(2))
        identifier = f"{secrets.randbelow(100):02d}{letters}"  # a BRIN
        body = {"role": "school", "name": "Basisschool Samen", "identifier": identifier}
        return self.same(Call("POST", "/api/v1/organisations", self.admin, body))

    def organisation_status(self) -> list[Call]:
        path = f"/api/v1/organisations/{self.another_school()}"
        return [
            Call("PATCH", path, self.admin, {"status": ("suspended", "active")[n % 2]})
            for n in range(AT_ONCE)
        ]

    def keys_added(self) -> list[Call]:
        key = ECKey.generate_key("P-256", private=False)
        key.ensure_kid()
        path = f"/api/v1/organisations/{self.another_school()}/keys"
        return self.same(Call("POST", path, self.admin, {"jwk": key.as_dict(private=False)}))

    def key_removed(self) -> list[Call]:
        school = register(self.world.session, token_url=self.token_url)
        path = f"/api/v1/organisations/{school.organisation_id}/keys/{school.key.kid}"
        return self.same(Call("DELETE", path, self.admin))

    def placements(self) -> list[Call]:
        child, shelter = new_child(), self.world.shelter
        mother = {"relation": "moeder", "gezag": True, "accompanying": True}
        self.world.guardians(shelter, child, mother)
        fields = ["age", "onderwijsbehoeften"]
        offer = self.world.create(shelter, self.school, "plaatsing-opvang", fields, child=child)
        self.world.grant_all(offer["id"])
        summary = {"age": 9, "onderwijsbehoeften": "Rust in de klas."}
        assert self.world.deliver(shelter, offer["id"], summary).status_code == 200
        path = f"/api/v1/exchanges/{offer['id']}/placement"
        return self.same(Call("POST", path, self.school.headers))

    def _certificate_path(self) -> tuple[str, str]:
        organisation_id = self.another_school()
        certificate = self_signed("LVS koppeling", "Basisschool Samen")
        return f"/api/v1/organisations/{organisation_id}/certificates", certificate.pem

    def certificates_added(self) -> list[Call]:
        path, pem = self._certificate_path()
        return self.same(Call("POST", path, self.admin, {"certificate": pem}))

    def certificate_removed(self) -> list[Call]:
        path, pem = self._certificate_path()
        added = self.world.client.post(path, json={"certificate": pem}, headers=self.admin)
        assert added.status_code == 201, added.text
        return self.same(Call("DELETE", f"{path}/{added.json()['thumbprint']}", self.admin))

    def tokens(self) -> list[Call]:
        """The same client assertion four times: one token, the replays refused."""
        school = register(self.world.session, token_url=self.token_url)
        return self.same(Call("FORM", "/oauth/token", {}, school.staff_form()))

    def previews(self) -> list[Call]:
        return self.same(
            Call("POST", "/api/v1/decisions/preview", self.source.headers, self._warm(new_child()))
        )


def test_every_write_route_raced_gives_no_server_error(live: LiveGateway, world: World) -> None:
    routes = Sweep(world).routes()
    for name, calls in routes.items():
        for n in range(SWEEP_ROUNDS):
            statuses = at_once(live, calls())
            no_server_error(statuses, f"{name}, round {n}")
            assert any(s < 400 for s in statuses) or name.startswith("POST organisations"), (
                name,
                statuses,
            )
