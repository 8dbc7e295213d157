"""Families for portal tests: children whose guardians are the dev provider's people."""

from __future__ import annotations

from typing import Any

from gateway.portal.dev_people import dev_person
from tests.exchanges.world import Party, World

NOOR = {"bsn": "100000009", "birth_date": "2022-03-14"}
DAAN = {"bsn": "100000095", "birth_date": "2013-06-10"}
MILA = {"bsn": "100000101", "birth_date": "2010-04-03"}
ZORG_FIELDS = ["attendance_agreements", "contact_persons", "what_helps_in_class"]


def parent(relation: str, person: str, **facts: Any) -> dict[str, Any]:
    found = dev_person(person)
    assert found is not None and found.bsn
    return {"relation": relation, "gezag": True, "bsn": found.bsn, **facts}


def offer_warm(world: World, child: dict[str, str], *guardians: dict[str, Any]) -> str:
    world.guardians(world.kinderopvang, child, *guardians)
    created = world.create(
        world.kinderopvang,
        world.school,
        "warme-overdracht",
        ["development_summary", "home_language", "social_emotional_notes"],
        child=child,
    )
    return str(created["id"])


def offer_zorg(world: World, by: Party, child: dict[str, str], *guardians: dict[str, Any]) -> str:
    world.guardians(by, child, *guardians)
    created = world.create(by, world.kinderopvang, "zorg-afstemming", ZORG_FIELDS, child=child)
    return str(created["id"])
