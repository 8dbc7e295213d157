"""The people of the dev identity provider: demo parents, a child of 13, a child of 16 and
privacy officers. Fictitious; their BSNs pass the elfproef but belong to nobody.

Citizens carry a ``bsn`` claim, as a DigiD broker gives it; officers carry the organisation they
work for (``organisation``: role and identifier, as an eHerkenning broker gives it) and the
``privacy_officer`` role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.children.bsn import validate_bsn
from gateway.translations import N_


@dataclass(frozen=True)
class DevPerson:
    key: str
    name: str
    description: str
    bsn: str | None = None
    birth_date: date | None = None
    organisation: str | None = None  # "<role>:<identifier>"

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {"sub": f"dev-{self.key}", "name": self.name}
        if self.bsn:
            claims["bsn"] = self.bsn
        if self.organisation:
            claims["organisation"] = self.organisation
            claims["roles"] = ["privacy_officer"]
        return claims


DEV_PEOPLE = (
    DevPerson("fatma", "Fatma Yilmaz", N_("moeder van Noor (4)"), bsn="100000034"),
    DevPerson("pieter", "Pieter Yilmaz", N_("vader van Noor (4)"), bsn="100000046"),
    DevPerson(
        "sara", "Sara Bakker", N_("moeder van Sam (8), in de vrouwenopvang"), bsn="100000058"
    ),
    DevPerson("ruud", "Ruud Bakker", N_("vader van Sam; mag niets zien"), bsn="100000071"),
    DevPerson("karin", "Karin Smit", N_("moeder van Lina (11)"), bsn="100000113"),
    DevPerson("els", "Els de Wit", N_("moeder van Daan (13) en Mila (16)"), bsn="100000083"),
    DevPerson("daan", "Daan de Wit", N_("13 jaar"), bsn="100000095", birth_date=date(2013, 6, 10)),
    DevPerson("mila", "Mila de Wit", N_("16 jaar"), bsn="100000101", birth_date=date(2010, 4, 3)),
    DevPerson(
        "fg-regenboog",
        "Henk Jansen",
        N_("functionaris gegevensbescherming, Basisschool De Regenboog"),
        organisation="school:12AB",
    ),
    DevPerson(
        "fg-gateway",
        "Anna Visser",
        N_("functionaris gegevensbescherming van Kindkoppeling (ziet alles)"),
        organisation="gateway:90000001",
    ),
)


def person_with_bsn(bsn: str) -> DevPerson:
    """Anyone at all, named only by a BSN that passes the elfproef (dev only): so an integrator
    can log in as the parent of a child they registered themselves."""
    valid = validate_bsn(bsn)
    return DevPerson(f"bsn-{valid}", f"Testpersoon {valid[-4:]}", "verzonnen BSN", bsn=valid)


def dev_person(key: str) -> DevPerson | None:
    return next((p for p in DEV_PEOPLE if p.key == key), None)
