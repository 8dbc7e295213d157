"""People for portal tests: children whose guardians are the dev provider's people, and
officers of the organisations the dev provider's officers claim."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.service import find_organisation
from gateway.portal.dev_people import dev_person
from tests.exchanges.world import YOUNG, Party, World
from tests.portal.live import LiveGateway, log_in

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


def as_officer(live: LiveGateway, world: World, person: str, organisation_id: str) -> httpx.Client:
    """Give the dev officer's claimed organisation the identifier of ``organisation_id``."""
    organisation = find_organisation(world.session, organisation_id)
    assert organisation is not None
    role, identifier = {
        "fg-regenboog": ("school", "12AB"),
        "fg-gateway": ("gateway", "90000001"),
    }[person]
    assert organisation.role == OrganisationRole(role)
    organisation.identifier = identifier
    world.session.commit()
    return log_in(live, person)


def break_glass(world: World, recipient: Party | None = None) -> str:
    """A break-glass exchange from the shelter to the school (or ``recipient``)."""
    world.guardians(world.shelter, YOUNG, {"relation": "moeder", "gezag": True})
    created = world.create(
        world.shelter,
        recipient or world.school,
        "plaatsing-opvang",
        ["safe_place_notice"],
        break_glass={"justification": "Veilig Thuis is betrokken; acuut risico bij ophalen."},
    )
    return str(created["id"])
