"""``/metrics``: counts that follow what the gateway did, gauges that match the database, and
no personal data anywhere in the exposition."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from audit import store
from gateway.app import create_app
from gateway.auditing import service as auditing
from gateway.consent.models import Consent
from gateway.exchanges import consent_answers
from gateway.exchanges.models import Exchange
from gateway.policy.decision import DecisionInput
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_and_status(world: World) -> None:
    before = scrape(world.client)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.read(world.school, offer["id"])
    world.read(world.stranger, offer["id"])  # 404: not a party

    after = scrape(world.client)

    def delta(route: str, method: str, status: str) -> float:
        name = "kindkoppeling_http_requests_total"
        labels = {"route": route, "method": method, "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("/api/v1/exchanges", "POST", "201") == 1
    assert delta("/api/v1/exchanges/{exchange_id}", "GET", "200") == 1
    assert delta("/api/v1/exchanges/{exchange_id}", "GET", "404") == 1
    assert delta("/metrics", "GET", "200") == 1  # the first scrape, counted once it answered


def test_decisions_are_counted_by_purpose_and_outcome(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    before = scrape(world.client)
    # The mother must agree first; a school may not offer a warme overdracht at all.
    world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.create(world.school, world.other_school, "warme-overdracht", WARM_FIELDS)

    after = scrape(world.client)

    name = "kindkoppeling_policy_decisions_total"
    for outcome in ("await_consent", "deny"):
        labels = {"purpose": "warme-overdracht", "outcome": outcome}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, outcome


def test_a_purpose_the_register_does_not_know_is_counted_as_unknown(
    world: World, settings: Settings
) -> None:
    invented = "purpose-with-a-name-a-caller-made-up"
    decider = world.app.state.policy
    decision = decider.decide(
        DecisionInput.model_validate(
            {
                "purpose": invented,
                "initiator": "recipient",
                "recipient": {"organisation_id": world.school.id, "role": "school"},
                "source": {"organisation_id": world.kinderopvang.id, "role": "opvang"},
                "subject": {"age": 5},
                "requested_fields": ["home_language"],
            }
        )
    )
    assert not decision.allow

    text = world.client.get("/metrics").text

    assert invented not in text
    assert 'purpose="unknown"' in text


def test_database_gauges_match_the_database(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    kept = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    revoked = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    for offer in (kept, revoked):
        world.grant_all(offer["id"])
        assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 200
    (consent,) = world.consents(revoked["id"])
    consent_answers.revoke_consent(world.exchanges, world.session, consent.id, consent.holder)
    auditing.checkpoint(world.session, world.app.state.audit_signer)

    samples = scrape(world.client)

    session = world.session
    session.expire_all()
    consents = Counter(str(c.status) for c in session.scalars(select(Consent)))
    exchanges = Counter((e.purpose, str(e.status)) for e in session.scalars(select(Exchange)))
    assert value(samples, "kindkoppeling_database_up") == 1
    assert value(samples, "kindkoppeling_audit_entries") == store.tree_size(session)
    assert value(samples, "kindkoppeling_audit_checkpoint_entries") == store.tree_size(session)
    assert 0 <= value(samples, "kindkoppeling_audit_checkpoint_age_seconds") < 3600
    assert value(samples, "kindkoppeling_payloads_shredded_total", reason="consent revoked") == 1
    assert set(consents) == {"active", "revoked"}
    for status, count in consents.items():
        assert value(samples, "kindkoppeling_consents", status=status) == count
    for (purpose, status), count in exchanges.items():
        assert value(samples, "kindkoppeling_exchanges", purpose=purpose, status=status) == count


def test_no_identifier_of_a_child_or_an_organisation_is_in_any_label(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.grant_all(offer["id"])
    world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD)
    world.fetch(world.school, offer["id"])

    text = world.client.get("/metrics").text

    session = world.session
    session.expire_all()
    identifiers = {YOUNG["bsn"], YOUNG["birth_date"], offer["id"]}
    identifiers |= {party.id for party in world.parties.values()}
    identifiers |= {e.child_id for e in session.scalars(select(Exchange))}
    identifiers |= {c.holder for c in session.scalars(select(Consent))}
    identifiers |= set(WARM_PAYLOAD.values())
    assert not [found for found in identifiers if found in text]


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Bearer scrape-me", 200)],
)
def test_a_metrics_token_closes_the_endpoint_to_everyone_else(
    settings: Settings, authorization: str | None, status: int
) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-me")}))
    headers = {"Authorization": authorization} if authorization else {}

    with TestClient(app, base_url=PUBLIC_URL) as client:
        response = client.get("/metrics", headers=headers)

    assert response.status_code == status
    if status == 401:
        assert response.headers["content-type"] == "application/problem+json"
