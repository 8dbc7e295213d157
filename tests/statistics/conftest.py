"""The statistics tests count in the leerplicht tests' world of gemeenten and regions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import World
from tests.signals.conftest import UTRECHT, VECHT, children, report, world

__all__ = ["counted", "world"]

DAY = date(2026, 11, 23)  # the service's clock; the school year is 2026-2027
MONTH = "2026-11"


@pytest.fixture
def counted(world: World) -> World:
    """12 thuiszitters this month: 9 in Utrecht (region PO2799), 3 in Stichtse Vecht (PO2798);
    6 children exempted in Utrecht since September."""
    moment = datetime.combine(DAY, time(9), tzinfo=UTC)
    world.exchanges.clock = lambda: moment
    world.add("vechtregion", OrganisationRole.SWV, identifier="PO2798", region=[VECHT])
    since = str(DAY - timedelta(days=60))  # at home since 24 September
    pupils = children(18, start=400_000_000)
    for i, child in enumerate(pupils[:12]):
        gemeente = UTRECHT if i < 9 else VECHT
        sent = report(world, world.linde, child, gemeente=gemeente, absent_since=since)
        assert sent.status_code == 201, sent.text
    for child in pupils[12:]:
        body = {
            "child": child,
            "article": "5 onder a",
            "valid_from": "2026-09-01",
            "valid_until": "2027-07-31",
        }
        recorded = world.client.post("/api/v1/exemptions", json=body, headers=world.utrecht.headers)
        assert recorded.status_code == 201, recorded.text
    return world
