"""Consent ahead of time, like Mitz: a mother agrees now that every school in the region of her
samenwerkingsverband may receive the warme overdracht; a school there gets it without a prompt,
a school elsewhere still waits for her; revoking it shreds what it covered and was not yet
fetched; her history names it, and a receipt (ISO/IEC TS 27560 elements) can be downloaded."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.consent.models import Consent
from gateway.dutch_time import end_of_day
from gateway.exchanges.models import Exchange
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, Party, World
from tests.portal.family import NOOR, parent
from tests.portal.live import LiveGateway, csrf_of, log_in
from tests.signals.conftest import UTRECHT, VECHT


@pytest.fixture
def schools(world: World) -> tuple[Party, Party, Party]:
    region = world.add("region", OrganisationRole.SWV, identifier="PO2797", region=[UTRECHT])
    inside = world.add("inside", OrganisationRole.SCHOOL, identifier="11AA", gemeente=UTRECHT)
    outside = world.add("outside", OrganisationRole.SCHOOL, identifier="22BB", gemeente=VECHT)
    return region, inside, outside


UNTIL = date.today() + timedelta(days=200)
MONTHS = "januari februari maart april mei juni juli augustus september oktober november december"


def give_ahead(live: LiveGateway, world: World, region: Party) -> tuple[httpx.Client, str]:
    """Fatma, Noor's only parent with gezag, gives the consent in the portal, until ``UNTIL``."""
    world.guardians(world.kinderopvang, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    home = fatma.get("/portaal")
    link = re.search(r'href="(/portaal/kinderen/[^/"]+/vooraf)"', home.text)
    assert link is not None, home.text
    form = fatma.get(f"{link.group(1)}/warme-overdracht")
    assert "Elke school in de regio van" in form.text
    given = fatma.post(
        f"{link.group(1)}/warme-overdracht",
        data={
            "csrf_token": csrf_of(form.text),
            "aan": f"regio:{region.id}",
            "velden": WARM_FIELDS,
            "tot": UNTIL.isoformat(),
        },
    )
    assert given.status_code == 200 and "toestemming vooraf is vastgelegd" in given.text
    return fatma, link.group(1).split("/")[3]


def test_a_school_in_the_region_gets_it_without_a_prompt_and_one_elsewhere_waits(
    live: LiveGateway, world: World, schools: tuple[Party, Party, Party]
) -> None:
    region, inside, outside = schools
    give_ahead(live, world, region)
    [standing] = world.session.query(Consent).filter(Consent.standing.is_(True)).all()

    there = world.create(world.kinderopvang, inside, "warme-overdracht", WARM_FIELDS, child=NOOR)
    elsewhere = world.create(
        world.kinderopvang, outside, "warme-overdracht", WARM_FIELDS, child=NOOR
    )

    assert there["status"] == "awaiting_delivery"
    assert world.consents(there["id"]) == []  # nobody was asked
    world.session.expire_all()
    decided = world.session.get_one(Exchange, there["id"])
    assert decided.decision["consents_relied"] == [standing.id]
    assert decided.relied_consent_ids == [standing.id]
    assert f"Relies on consent {standing.id}, given ahead of time." in decided.decision["reasons"]
    assert elsewhere["status"] == "awaiting_consent"
    assert [c.holder for c in world.consents(elsewhere["id"])] == [standing.holder]


def test_the_parties_whose_decision_counted_it_may_read_it_and_nobody_else(
    live: LiveGateway, world: World, schools: tuple[Party, Party, Party]
) -> None:
    region, inside, outside = schools
    give_ahead(live, world, region)
    [standing] = world.session.query(Consent).filter(Consent.standing.is_(True)).all()
    there = world.create(world.kinderopvang, inside, "warme-overdracht", WARM_FIELDS, child=NOOR)
    world.create(world.kinderopvang, outside, "warme-overdracht", WARM_FIELDS, child=NOOR)

    shown = world.client.get(f"/api/v1/exchanges/{there['id']}", headers=inside.headers)
    assert shown.json()["decision"]["consents_relied"] == [standing.id]
    for party in (inside, world.kinderopvang):
        read = world.client.get(f"/api/v1/consents/{standing.id}", headers=party.headers)
        assert read.status_code == 200, read.text
        assert read.json()["id"] == standing.id
    for stranger in (outside, region):  # outside's exchange waits for Fatma; region is no party
        refused = world.client.get(f"/api/v1/consents/{standing.id}", headers=stranger.headers)
        assert refused.status_code == 404


@pytest.mark.parametrize(
    ("day", "last_moment"),
    [
        (date(2027, 6, 30), datetime(2027, 6, 30, 21, 59, 59, 999999, UTC)),  # summer time
        (date(2027, 1, 15), datetime(2027, 1, 15, 22, 59, 59, 999999, UTC)),  # winter time
        (date(2027, 3, 27), datetime(2027, 3, 27, 22, 59, 59, 999999, UTC)),  # the clocks go on
    ],
)
def test_a_day_a_person_picks_ends_at_the_end_of_that_day_in_the_netherlands(
    day: date, last_moment: datetime
) -> None:
    assert end_of_day(day) == last_moment


def test_consent_until_a_day_holds_through_that_day_and_says_so(
    live: LiveGateway, world: World, schools: tuple[Party, Party, Party]
) -> None:
    region, _, _ = schools
    fatma, _ = give_ahead(live, world, region)
    [standing] = world.session.query(Consent).filter(Consent.standing.is_(True)).all()

    stored = standing.valid_until.replace(tzinfo=standing.valid_until.tzinfo or UTC)
    local = stored.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert (local.date(), local.hour, local.minute) == (UNTIL, 23, 59)
    shown = f"{UNTIL.day} {MONTHS.split()[UNTIL.month - 1]} {UNTIL.year}, 23:59"
    assert shown in fatma.get("/portaal").text


def test_revoking_it_shreds_what_it_covered_and_the_history_and_receipt_name_it(
    live: LiveGateway, world: World, schools: tuple[Party, Party, Party]
) -> None:
    region, inside, _ = schools
    fatma, child_id = give_ahead(live, world, region)
    there = world.create(world.kinderopvang, inside, "warme-overdracht", WARM_FIELDS, child=NOOR)
    assert world.deliver(world.kinderopvang, there["id"], WARM_PAYLOAD).status_code == 200
    [standing] = world.session.query(Consent).filter(Consent.standing.is_(True)).all()

    history = fatma.get(f"/portaal/kinderen/{child_id}/geschiedenis")
    home = fatma.get("/portaal")
    receipt = fatma.get(f"/portaal/toestemmingen/{standing.id}/bewijs").json()
    page = fatma.get(f"/portaal/toestemmingen/{standing.id}/intrekken")
    fatma.post(
        f"/portaal/toestemmingen/{standing.id}/intrekken",
        data={"csrf_token": csrf_of(page.text)},
    )
    after = fatma.get(f"/portaal/toestemmingen/{standing.id}/bewijs").json()

    assert "Uw toestemming vooraf (elke school in de regio van" in history.text
    assert "Gebruikt voor Test school 11AA" in home.text
    assert receipt["schema_version"] == "ISO/IEC TS 27560:2023"
    assert receipt["record_id"] == standing.id
    assert receipt["purposes"][0]["consent_ahead_of_time"] is True
    assert [p["field"] for p in receipt["purposes"][0]["pii_information"]] == sorted(WARM_FIELDS)
    assert NOOR["bsn"] not in str(receipt)
    assert [e["event_type"] for e in receipt["events"]] == ["given"]
    assert [e["event_type"] for e in after["events"]] == ["given", "withdrawn"]
    assert after["consent_state"] == "revoked"
    assert world.status(inside, there["id"]) == "revoked"
    assert world.fetch(inside, there["id"]).status_code in {409, 410}
    world.session.expire_all()
    assert world.session.get_one(Exchange, there["id"]).payload.shredded


def test_beyond_the_purposes_maximum_or_without_gezag_nothing_is_given(
    live: LiveGateway, world: World, schools: tuple[Party, Party, Party]
) -> None:
    region, _, _ = schools
    world.guardians(
        world.kinderopvang, NOOR, parent("moeder", "fatma"), parent("vader", "pieter", gezag=False)
    )
    fatma, pieter = log_in(live, "fatma"), log_in(live, "pieter")
    child_id = re.search(r"/portaal/kinderen/([^/\"]+)/vooraf", fatma.get("/portaal").text)
    assert child_id is not None
    url = f"/portaal/kinderen/{child_id.group(1)}/vooraf/warme-overdracht"
    form = fatma.get(url)
    maximum = date.today() + timedelta(days=365)

    too_long = fatma.post(
        url,
        data={
            "csrf_token": csrf_of(form.text),
            "aan": f"regio:{region.id}",
            "velden": WARM_FIELDS,
            "tot": (maximum + timedelta(days=2)).isoformat(),
        },
    )
    not_a_holder = pieter.get(url)
    legal_duty = fatma.get(f"/portaal/kinderen/{child_id.group(1)}/vooraf/onderwijskundig-rapport")

    assert too_long.status_code == 422
    assert "Een toestemming vooraf geldt ten hoogste 365 dagen." in too_long.text
    assert not_a_holder.status_code == 403
    assert legal_duty.status_code == 404
    assert world.session.query(Consent).filter(Consent.standing.is_(True)).count() == 0
