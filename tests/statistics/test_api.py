"""``GET /api/v1/statistics`` and the officer's statistics pages: right counts, small ones
hidden, and no pair of answers that can be subtracted to reveal a hidden one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import World
from tests.signals.conftest import UTRECHT, VECHT, children, report

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


def cells(world: World, **query: str) -> dict[tuple[str, str, str, str], int | None]:
    response = world.client.get("/api/v1/statistics", params=query, headers=world.linde.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["school_year"] == "2026-2027" and body["threshold"] == 5
    return {
        (c["table"], c["category"], c["region"], c["period"]): c["count"] for c in body["cells"]
    }


def test_counts_are_right_where_they_are_large_enough(counted: World) -> None:
    found = cells(counted)
    assert found[("signals", "thuiszitter", "all", MONTH)] == 12
    assert found[("signals", "thuiszitter", "all", "year")] == 12
    assert found[("exchanges", "verzuimmelding", "all", MONTH)] == 12
    assert found[("reference_dates", "exempted", "all", "2026-10-01")] == 6
    assert found[("reference_dates", "exempted", "PO2799", "2026-10-01")] == 6
    assert found[("reference_dates", "at_home", "all", "2026-10-01")] == 12
    assert ("reference_dates", "exempted", "all", "2027-02-01") not in found  # not come yet


def test_small_cells_are_hidden_with_their_complement(counted: World) -> None:
    found = cells(counted)
    vecht = ("signals", "thuiszitter", "PO2798", MONTH)
    utrecht = ("signals", "thuiszitter", "PO2799", MONTH)
    assert found[vecht] is None  # 3 children
    # all - Utrecht would give Stichtse Vecht's 3: so Utrecht's 9 is hidden as well.
    assert found[("signals", "thuiszitter", "all", MONTH)] == 12
    assert found[utrecht] is None
    assert all(v is None or v >= 5 for v in found.values())


def test_two_queries_cannot_be_subtracted(counted: World) -> None:
    """The attack: ask for all regions, then for one region, and subtract."""
    whole = cells(counted, table="signals", region="all")
    one = cells(counted, table="signals", region="PO2799")
    other = cells(counted, table="signals", region="PO2798")
    rest = cells(counted, table="signals", region="PO-unassigned")
    for category in ("thuiszitter", "all"):
        for period in (MONTH, "year"):
            known = [
                answer.get(("signals", category, region, period))
                for answer, region in (
                    (one, "PO2799"),
                    (other, "PO2798"),
                    (rest, "PO-unassigned"),
                )
            ]
            total = whole[("signals", category, "all", period)]
            hidden = [v for v in known if v is None]
            # Never exactly one unknown part beside a known total.
            assert total is None or len(hidden) != 1, (category, period, known)
    # And each answer is a slice of the same table, never a recount.
    full = cells(counted)
    for answer in (whole, one, other, rest):
        assert all(full[key] == value for key, value in answer.items())
