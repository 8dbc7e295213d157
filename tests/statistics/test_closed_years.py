"""A school year that has ended keeps its figures, and the records it was counted from go once
their retention has passed and no open year can count them. The clock is the service's own,
moved by the test, with the maintenance run the gateway itself runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from gateway.exchanges.expiry import MaintenanceReport
from gateway.exchanges.maintenance import maintain
from gateway.signals.models import AbsenceSignal, AtHomeAlert, Exemption
from gateway.statistics.models import StatisticsSnapshot
from tests.exchanges.world import World
from tests.signals.conftest import at, children

Cells = dict[tuple[str, str, str, str], int | None]


def run(world: World) -> MaintenanceReport:
    return maintain(world.session, world.app.state.signals, world.app.state.audit_signer)


def answer(world: World, school_year: str) -> dict[str, Any]:
    response = world.client.get(
        "/api/v1/statistics", params={"schoolYear": school_year}, headers=world.linde.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def table(world: World, school_year: str) -> Cells:
    return {
        (c["table"], c["category"], c["region"], c["period"]): c["count"]
        for c in answer(world, school_year)["cells"]
    }


def rows(world: World, model: Any) -> int:
    world.session.expire_all()
    return int(world.session.scalar(select(func.count()).select_from(model)) or 0)


def erasures(world: World) -> list[dict[str, Any]]:
    return [e for e in world.audit_entries() if e["action"].endswith(".erase")]


def test_a_closed_year_keeps_its_figures_while_its_records_are_erased(counted: World) -> None:
    # The year closes: its table is stored, and nothing is erased yet (within retention).
    at(counted, date(2027, 8, 1))
    assert answer(counted, "2026-2027")["closed_at"] is None  # ended, not yet stored
    report = run(counted)
    assert report.school_years_closed == 1 and report.records_erased == 0
    assert report.alerts_raised > 0  # the 12 thuiszitters, three months on
    closed = table(counted, "2026-2027")
    assert closed[("signals", "thuiszitter", "all", "year")] == 12
    assert closed[("reference_dates", "at_home", "all", "2026-10-01")] == 12
    assert closed[("reference_dates", "exempted", "all", "2027-02-01")] == 6
    assert run(counted).school_years_closed == 0  # once
    assert answer(counted, "2026-2027")["closed_at"].startswith("2027-08-01")
    assert answer(counted, "2027-2028")["closed_at"] is None

    # An exemption recorded later, in force back then, no longer changes the closed year; the
    # open year counts it.
    at(counted, date(2027, 9, 1))
    for child in children(6, start=500_000_000):
        body = {
            "child": child,
            "article": "5 onder a",
            "valid_from": "2026-09-01",
            "valid_until": "2028-07-31",
        }
        recorded = counted.client.post(
            "/api/v1/exemptions", json=body, headers=counted.utrecht.headers
        )
        assert recorded.status_code == 201, recorded.text
    assert table(counted, "2026-2027") == closed
    at(counted, date(2027, 10, 2))
    assert table(counted, "2027-2028")[("reference_dates", "exempted", "all", "2027-10-01")] == 6

    # A year on from their end, the first exemptions go; the signals stay, because the open
    # year 2027-2028 could still count their children as at home.
    at(counted, date(2028, 7, 31))
    report = run(counted)
    assert report.records_erased == 6
    assert rows(counted, Exemption) == 6 and rows(counted, AbsenceSignal) == 12

    # 2027-2028 closes: now the signals go too, with the alerts they raised.
    assert rows(counted, AtHomeAlert) > 0
    at(counted, date(2028, 8, 1))
    report = run(counted)
    assert report.school_years_closed == 1 and report.records_erased == 12
    assert rows(counted, AbsenceSignal) == 0
    assert rows(counted, Exemption) == 6  # the later ones, still within their retention
    kept = set(counted.session.scalars(select(Exemption.id)))
    causes = set(counted.session.scalars(select(AtHomeAlert.cause_id)))
    assert causes and causes <= kept  # only the alerts of the later exemptions are left
    assert rows(counted, StatisticsSnapshot) == 2
    assert run(counted).records_erased == 0  # idempotent

    # The published figures did not move.
    assert table(counted, "2026-2027") == closed
    entries = erasures(counted)
    assert sorted(e["action"] for e in entries) == ["exemption.erase"] * 6 + ["signal.erase"] * 12
    for entry in entries:
        assert entry["child_ref"] and entry["subject"]
        assert entry["actor"]["id"] == "gateway-retention"
        assert set(entry["extra"]) == {"why", "alerts"}  # names and counts, never a value
    signal_alerts = [int(e["extra"]["alerts"]) for e in entries if e["action"] == "signal.erase"]
    assert sum(signal_alerts) > 0


def test_an_open_year_is_never_stored_and_records_within_it_stay(counted: World) -> None:
    at(counted, date(2027, 7, 31))  # the last day of 2026-2027
    report = run(counted)
    assert report.school_years_closed == 0 and report.records_erased == 0
    assert rows(counted, StatisticsSnapshot) == 0
    assert rows(counted, AbsenceSignal) == 12 and rows(counted, Exemption) == 6
