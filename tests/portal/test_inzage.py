"""Inzage (AVG art. 15): a parent with gezag reads what is held and downloads everything, each
read recorded; a parent without gezag or a restricted parent sees nothing of it."""

from __future__ import annotations

import json
import re

import jsonschema

from gateway.inzage.service import download_schema
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.portal.family import NOOR, offer_warm, parent
from tests.portal.live import LiveGateway, csrf_of, log_in


def delivered(world: World) -> tuple[str, str]:
    exchange_id = offer_warm(
        world,
        NOOR,
        parent("moeder", "fatma"),
        parent("vader", "pieter", gezag=False),
    )
    world.grant_all(exchange_id)
    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    return exchange_id, world.consents(exchange_id)[0].child_id


def test_a_parent_with_gezag_reads_what_is_held_and_the_reading_is_recorded(
    live: LiveGateway, world: World
) -> None:
    exchange_id, child_id = delivered(world)
    fatma = log_in(live, "fatma")

    home = fatma.get("/portaal")
    page = fatma.get(f"/portaal/kinderen/{child_id}/gegevens")

    assert "Lees de inhoud" in home.text
    assert page.status_code == 200
    for value in WARM_PAYLOAD.values():
        assert str(value) in page.text
    views = [e for e in world.audit_entries() if e["action"] == "view"]
    assert len(views) == 1
    assert views[0]["exchange_id"] == exchange_id
    assert views[0]["actor"]["type"] == "user"
    assert sorted(views[0]["fields"]) == sorted(WARM_PAYLOAD)
    assert not any(str(v) in json.dumps(views) for v in WARM_PAYLOAD.values())


def test_a_yes_or_no_field_reads_ja_or_nee(live: LiveGateway, world: World) -> None:
    world.guardians(world.kinderopvang, NOOR, parent("moeder", "fatma"))
    fields = ["vve_participation", "development_summary"]
    created = world.create(world.kinderopvang, world.school, "warme-overdracht", fields, child=NOOR)
    world.grant_all(created["id"])
    payload = {"vve_participation": True, "development_summary": "Bouwt graag torens."}
    assert world.deliver(world.kinderopvang, created["id"], payload).status_code == 200
    child_id = world.consents(created["id"])[0].child_id

    page = log_in(live, "fatma").get(f"/portaal/kinderen/{child_id}/gegevens").text

    term = "Deelname aan voor- en vroegschoolse educatie"
    assert re.search(rf"<dt>{term}</dt>\s*<dd>Ja</dd>", page), page
    assert "True" not in page


def test_the_download_holds_everything_and_validates(live: LiveGateway, world: World) -> None:
    exchange_id, child_id = delivered(world)
    fatma = log_in(live, "fatma")

    response = fatma.get(f"/portaal/kinderen/{child_id}/download")

    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    jsonschema.Draft202012Validator(
        download_schema(), format_checker=jsonschema.FormatChecker()
    ).validate(document)
    assert [e["id"] for e in document["exchanges"]] == [exchange_id]
    assert document["payloads"] == [
        {"exchange_id": exchange_id, "fields": WARM_PAYLOAD, "parent_reactions": []}
    ]
    assert document["decisions"] and all("reasons" in d for d in document["decisions"])
    assert {c["status"] for c in document["consents"]} == {"active"}
    assert document["notices"]
    assert NOOR["bsn"] not in response.text
    actions = [e["action"] for e in world.audit_entries()]
    assert "inzage.download" in actions


def test_without_gezag_or_restricted_nothing_is_shown(live: LiveGateway, world: World) -> None:
    _, child_id = delivered(world)
    world.guardians(world.kinderopvang, NOOR, parent("voogd", "ruud", restricted=True))
    pieter, ruud = log_in(live, "pieter"), log_in(live, "ruud")

    no_gezag = pieter.get(f"/portaal/kinderen/{child_id}/gegevens")
    no_gezag_download = pieter.get(f"/portaal/kinderen/{child_id}/download")
    restricted = ruud.get(f"/portaal/kinderen/{child_id}/gegevens")

    assert no_gezag.status_code == 403 and "Thuistaal" not in no_gezag.text
    assert no_gezag_download.status_code == 403
    assert restricted.status_code == 404
    for value in WARM_PAYLOAD.values():
        assert str(value) not in no_gezag.text + no_gezag_download.text + restricted.text
    assert "Lees de inhoud" not in pieter.get("/portaal").text
    assert not [e for e in world.audit_entries() if e["action"] == "view"]


RAPPORT = {"onderwijsbehoeften": "Extra tijd bij rekenen.", "support_given": "Remedial teaching."}
CHILD = {"bsn": "100000150", "birth_date": "2016-02-11"}


def test_parents_react_to_the_onderwijskundig_rapport_and_the_reaction_travels_with_it(
    live: LiveGateway, world: World
) -> None:
    world.guardians(world.school, CHILD, parent("moeder", "fatma"))
    created = world.create(
        world.school, world.other_school, "onderwijskundig-rapport", sorted(RAPPORT), child=CHILD
    )
    assert world.deliver(world.school, created["id"], RAPPORT).status_code == 200
    child_id = _child_id(world, created["id"])
    fatma = log_in(live, "fatma")
    page = fatma.get(f"/portaal/kinderen/{child_id}/gegevens")
    form = re.search(r'action="([^"]+/reactie)"', page.text)  # the form shows for a rapport
    assert form is not None

    reacted = fatma.post(
        form.group(1),
        data={"csrf_token": csrf_of(page.text), "reactie": "Wij zien thuis veel vooruitgang."},
    )
    fetched = world.fetch(world.other_school, created["id"]).json()

    assert reacted.status_code == 200 and "Wij zien thuis veel vooruitgang." in reacted.text
    assert "Extra tijd bij rekenen." in page.text
    [reaction] = fetched["parent_reactions"]
    assert reaction["from"] == "moeder"
    assert reaction["text"] == "Wij zien thuis veel vooruitgang."
    assert fetched["fields"] == RAPPORT
    entries = [e for e in world.audit_entries() if e["action"] == "reaction.add"]
    assert len(entries) == 1 and "vooruitgang" not in json.dumps(entries)


def test_no_reaction_where_the_register_allows_none(live: LiveGateway, world: World) -> None:
    exchange_id, child_id = delivered(world)  # a warme overdracht
    fatma = log_in(live, "fatma")
    page = fatma.get(f"/portaal/kinderen/{child_id}/gegevens")

    refused = fatma.post(
        f"/portaal/kinderen/{child_id}/gegevens/{exchange_id}/reactie",
        data={"csrf_token": csrf_of(page.text), "reactie": "Toch iets."},
    )

    assert "Reactie toevoegen" not in page.text
    assert refused.status_code == 403
    assert world.fetch(world.school, exchange_id).json()["parent_reactions"] == []


def _child_id(world: World, exchange_id: str) -> str:
    from gateway.exchanges.models import Exchange

    world.session.expire_all()
    return world.session.get_one(Exchange, exchange_id).child_id
