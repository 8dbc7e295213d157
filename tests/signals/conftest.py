"""A world with places: two gemeenten with their leerplicht offices, an SWV whose region is one
of them, and schools located there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import World, make_world
from tests.factories import with_check_digit

UTRECHT, VECHT = "GM0344", "GM1904"


def valid_bsns(start: int = 200_000_000) -> Iterator[str]:
    """BSNs that pass the elfproef and belong to nobody (test data), from ``start`` up."""
    for prefix in count(start // 10):
        bsn = with_check_digit(f"{prefix:08d}")
        if bsn is not None:
            yield bsn


def children(n: int, start: int = 200_000_000) -> list[dict[str, str]]:
    numbers = valid_bsns(start)
    return [{"bsn": next(numbers), "birth_date": "2014-03-01"} for _ in range(n)]


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    world = make_world(client, session)
    world.add("utrecht", OrganisationRole.LEERPLICHT, identifier=UTRECHT)
    world.add("vecht", OrganisationRole.LEERPLICHT, identifier=VECHT)
    world.add("region", OrganisationRole.SWV, identifier="PO2799", region=[UTRECHT])
    world.add("linde", OrganisationRole.SCHOOL, gemeente=UTRECHT)
    return world


def report(world: World, by: Any, child: dict[str, str], **facts: Any) -> Any:
    body = {"child": child, "gemeente": facts.pop("gemeente", UTRECHT), **facts}
    return world.client.post("/api/v1/absence-reports", json=body, headers=by.headers)


def hours(*days_ago: int, each: float = 4, today: date | None = None) -> list[dict[str, Any]]:
    today = today or date.today()
    return [{"date": str(today - timedelta(days=d)), "hours": each} for d in days_ago]


def at(world: World, day: date) -> None:
    """Set the service's clock to 06:00 UTC on ``day`` (the maintenance run's early hour)."""
    moment = datetime.combine(day, time(6), tzinfo=UTC)
    world.exchanges.clock = lambda: moment
