"""The audit entries API for privacy officers (logged in to the portal) and API clients: who sees
which entries, the organisation filter, and a search that names a child by BSN."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from audit import store
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import TEEN, WARM_PAYLOAD, YOUNG, Party, World
from tests.factories import access_token, bearer
from tests.portal.family import (
    DAAN,
    MILA,
    NOOR,
    as_officer,
    break_glass,
    offer_warm,
    offer_zorg,
    parent,
)
from tests.portal.live import LiveGateway, log_in
from tests.security.test_rate_limits import strict_limits

ENTRIES = "/api/v1/audit/entries"
SEARCH = f"{ENTRIES}/_search"
STAFF = "/api/v1/organisations/me/staff"


def entries_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [item["entry"] for item in response.json()["items"]]


def names(entry: dict[str, Any]) -> set[str | None]:
    return {entry["actor"]["id"], entry.get("requester_id"), entry.get("source_id")}


@pytest.fixture
def story(world: World) -> World:
    """The shelter places a child at the school; the other school asks the SWV about another."""
    break_glass(world)
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"], child=TEEN)
    return world


def test_an_organisations_officer_reads_only_entries_naming_it(
    live: LiveGateway, story: World
) -> None:
    officer = as_officer(live, story, "fg-regenboog", story.other_school.id)

    seen = entries_of(officer.get(ENTRIES, params={"limit": 500}))

    assert {e["purpose"] for e in seen if e["action"] == "decision"} == {"tlv-aanvraag"}
    assert seen and all(story.other_school.id in names(e) for e in seen)


def test_the_gateway_officer_reads_everything_and_filters_by_organisation(
    live: LiveGateway, story: World
) -> None:
    story.add("operator", OrganisationRole.GATEWAY)
    officer = as_officer(live, story, "fg-gateway", story.operator.id)

    everything = entries_of(officer.get(ENTRIES, params={"limit": 500}))
    shelters = entries_of(officer.get(ENTRIES, params={"organisation": story.shelter.id}))

    assert {"tlv-aanvraag", "plaatsing-opvang"} <= {e["purpose"] for e in everything}
    assert any(e["action"].startswith("admin.") for e in everything)
    assert shelters and all(story.shelter.id in names(e) for e in shelters)
    assert len(shelters) < len(everything)


def test_an_officer_finds_a_child_by_bsn_and_the_search_is_recorded(
    live: LiveGateway, story: World
) -> None:
    story.add("operator", OrganisationRole.GATEWAY)
    officer = as_officer(live, story, "fg-gateway", story.operator.id)

    found = officer.post(SEARCH, json={"child": {"bsn": TEEN["bsn"]}})

    about = entries_of(found)
    assert about and {e["purpose"] for e in about} == {"tlv-aanvraag"}
    assert len({e["child_ref"] for e in about}) == 1
    story.session.expire_all()
    leaves = [leaf for _, leaf, _ in store.iter_leaves(story.session)]
    read = json.loads(leaves[-1])
    assert read["action"] == "audit.read"
    assert read["child_ref"] == about[0]["child_ref"]
    assert read["extra"]["filters"] == "child_ref"
    assert not any(TEEN["bsn"].encode() in leaf for leaf in leaves)


def test_a_search_names_the_bsn_in_its_errors_without_echoing_it(
    live: LiveGateway, story: World
) -> None:
    refused = httpx.post(
        f"{live.url}{SEARCH}", json={"child": {"bsn": "123456789"}}, headers=story.school.headers
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "123456789" not in refused.text
    assert "#/child/bsn" in refused.text


def test_a_child_the_log_never_named_has_no_entries(live: LiveGateway, story: World) -> None:
    never_seen = {"bsn": "999999990"}

    found = httpx.post(
        f"{live.url}{SEARCH}", json={"child": never_seen}, headers=story.shelter.headers
    )

    assert found.status_code == 200
    assert found.json()["total"] == 0
    story.session.expire_all()
    read = json.loads(list(store.iter_leaves(story.session))[-1][1])
    assert read["action"] == "audit.read" and read["child_ref"] is None


def test_a_client_searching_by_bsn_sees_only_its_own_actions(
    live: LiveGateway, story: World
) -> None:
    story.create(story.school, story.swv, "tlv-aanvraag", ["onderwijsbehoeften"], child=TEEN)

    found = httpx.post(
        f"{live.url}{SEARCH}", json={"child": {"bsn": TEEN["bsn"]}}, headers=story.school.headers
    )

    about = entries_of(found)
    assert about and all(e["actor"]["id"] == story.school.id for e in about)


def test_without_a_token_or_an_officer_login_the_entries_are_closed(
    live: LiveGateway, story: World
) -> None:
    parent = log_in(live, "fatma")

    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get(ENTRIES).status_code == 401
    assert parent.get(ENTRIES).status_code == 401
    assert parent.post(SEARCH, json={"child": {"bsn": YOUNG["bsn"]}}).status_code == 401


def test_an_officers_reads_are_rate_limited_like_a_clients(live: LiveGateway, story: World) -> None:
    officer = as_officer(live, story, "fg-regenboog", story.other_school.id)
    strict_limits(live.app, api="3/minute")

    answers = [officer.get(ENTRIES) for _ in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert httpx.get(f"{live.url}{ENTRIES}", headers=story.school.headers).status_code == 200


def test_an_officer_finds_exactly_the_calls_made_on_behalf_of_one_staff_member(
    live: LiveGateway, world: World
) -> None:
    ib = {"staff_id": "ib-0042", "display_name": "J. de Vries", "role": "intern begeleider"}
    for school in (world.school, world.other_school):  # the same id at two schools
        own = bearer(access_token(world.client, school.registered, own=True))
        assert world.client.post(STAFF, json=ib, headers=own).status_code == 201
    as_ib = {
        school.id: Party(school.id, bearer(token_for(world, school, "ib-0042")), school.registered)
        for school in (world.school, world.other_school)
    }
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    world.grant_all(exchange_id)
    world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD)
    assert world.fetch(as_ib[world.school.id], exchange_id).status_code == 200
    offer_zorg(world, world.school, DAAN, parent("moeder", "els"))  # the school's staff-1
    offer_zorg(world, as_ib[world.other_school.id], MILA, parent("moeder", "els"))
    world.add("operator", OrganisationRole.GATEWAY)
    officer = as_officer(live, world, "fg-gateway", world.operator.id)

    query = {"organisation": world.school.id, "on_behalf_of": "ib-0042", "limit": 500}
    found = officer.get(ENTRIES, params=query)
    searched = officer.post(SEARCH, json=query)
    without_organisation = officer.get(ENTRIES, params={"on_behalf_of": "ib-0042"})

    world.session.expire_all()
    acting = [
        (index, json.loads(leaf)["actor"]["id"])
        for index, leaf, _ in store.iter_leaves(world.session)
        if json.loads(leaf)["on_behalf_of"] == "ib-0042"
    ]
    expected = [index for index, actor in acting if actor == world.school.id]
    assert expected
    assert any(actor == world.other_school.id for _, actor in acting)  # left out
    assert [item["index"] for item in found.json()["items"]] == expected
    assert [item["index"] for item in searched.json()["items"]] == expected
    assert {e["action"] for e in entries_of(found)} == {"fetch"}
    assert without_organisation.status_code == 422
    assert "organisation" in json.dumps(without_organisation.json()["errors"])


def token_for(world: World, party: Party, staff_id: str) -> str:
    response = world.client.post("/oauth/token", data=party.registered.staff_form(staff_id))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
