"""``GET /api/v1/statistics`` and the officer's statistics pages: right counts, small ones
hidden, and no pair of answers that can be subtracted to reveal a hidden one."""

from __future__ import annotations

from tests.exchanges.world import World
from tests.statistics.conftest import MONTH


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
