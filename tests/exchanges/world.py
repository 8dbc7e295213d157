"""A small world for exchange tests: organisations of every role with tokens, a child with
guardians, and helpers that act through the public API (and, for parents' answers, through the
service the portal will call)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import store
from gateway.consent.models import Consent, ConsentStatus
from gateway.exchanges import consent_answers
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from tests.factories import RegisteredClient, access_token, bearer, register

YOUNG = {"bsn": "111222333", "birth_date": "2021-05-01"}  # 5 in 2026
TEEN = {"bsn": "123456782", "birth_date": "2012-02-01"}  # 14 in 2026
WARM_FIELDS = ["development_summary", "home_language", "social_emotional_notes"]
WARM_PAYLOAD = {
    "development_summary": "Speelt graag samen, praat in korte zinnen.",
    "home_language": "Nederlands en Arabisch",
    "social_emotional_notes": "Heeft tijd nodig om te wennen.",
}


@dataclass
class Party:
    id: str
    headers: dict[str, str]  # on behalf of its staff member (tests.factories.TEST_STAFF_ID)
    registered: RegisteredClient


@dataclass
class World:
    client: TestClient
    session: Session
    app: FastAPI
    parties: dict[str, Party] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Party:
        try:
            return self.parties[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def exchanges(self) -> Exchanges:
        service: Exchanges = self.app.state.exchanges
        return service

    def add(self, name: str, role: OrganisationRole, **registration: Any) -> Party:
        """Register an organisation (``registration``: identifier, gemeente, region) and get
        its token."""
        registered = register(
            self.session, role, token_url=self.app.state.settings.token_url, **registration
        )
        party = Party(
            registered.organisation_id,
            bearer(access_token(self.client, registered)),
            registered,
        )
        self.parties[name] = party
        return party

    def guardians(
        self, by: Party, child: dict[str, str], *guardians: dict[str, Any]
    ) -> list[dict[str, Any]]:
        response = self.client.put(
            "/api/v1/children/guardians",
            json={**child, "guardians": list(guardians)},
            headers=by.headers,
        )
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    def create(
        self,
        by: Party,
        other: Party,
        purpose: str,
        fields: list[str],
        *,
        child: dict[str, str] = YOUNG,
        direction: str = "offer",
        expect: int = 201,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "purpose": purpose,
            "direction": direction,
            "counterparty_id": other.id,
            "child": child,
            "requested_fields": fields,
            **extra,
        }
        response = self.client.post(
            "/api/v1/exchanges", json=body, headers={**by.headers, **(headers or {})}
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    def read(self, by: Party, exchange_id: str) -> httpx2.Response:
        return self.client.get(f"/api/v1/exchanges/{exchange_id}", headers=by.headers)

    def status(self, by: Party, exchange_id: str) -> str:
        response = self.read(by, exchange_id)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    def deliver(self, by: Party, exchange_id: str, payload: dict[str, Any]) -> httpx2.Response:
        return self.client.put(
            f"/api/v1/exchanges/{exchange_id}/payload", json=payload, headers=by.headers
        )

    def fetch(self, by: Party, exchange_id: str) -> httpx2.Response:
        return self.client.get(f"/api/v1/exchanges/{exchange_id}/payload", headers=by.headers)

    def consents(self, exchange_id: str) -> list[Consent]:
        self.session.expire_all()
        return list(
            self.session.scalars(
                select(Consent).where(Consent.exchange_id == exchange_id).order_by(Consent.holder)
            )
        )

    def grant_all(self, exchange_id: str, **options: Any) -> None:
        for consent in self.consents(exchange_id):
            if consent.status == ConsentStatus.PROPOSED:
                consent_answers.answer_consent(
                    self.exchanges, self.session, consent.id, consent.holder, grant=True, **options
                )

    def audit_entries(self) -> list[dict[str, Any]]:
        """Every entry of the audit log as committed, oldest first."""
        self.session.expire_all()
        return [json.loads(leaf) for _, leaf, _ in store.iter_leaves(self.session)]

    def audit_actions(self, exchange_id: str) -> list[str]:
        return [e["action"] for e in self.audit_entries() if e["exchange_id"] == exchange_id]

    def travel(self, days: int) -> None:
        """Move the service's clock ``days`` ahead of real time."""
        moment = datetime.now(UTC) + timedelta(days=days)
        self.exchanges.clock = lambda: moment


def make_world(client: TestClient, session: Session) -> World:
    world = World(client, session, client.app)  # type: ignore[arg-type]
    world.add("kinderopvang", OrganisationRole.OPVANG)
    world.add("shelter", OrganisationRole.OPVANG)
    world.add("school", OrganisationRole.SCHOOL)
    world.add("other_school", OrganisationRole.SCHOOL)
    world.add("swv", OrganisationRole.SWV)
    world.add("leerplicht", OrganisationRole.LEERPLICHT)
    world.add("stranger", OrganisationRole.SCHOOL)
    return world
