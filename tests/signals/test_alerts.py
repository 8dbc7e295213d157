"""The daily at-home job: three months after an exemption or a thuiszitter signal, without a
new school place, leerplicht and the SWV of the region are alerted, once. The clock is the
service's own, moved by the test."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.exchanges.maintenance import maintain
from gateway.signals.service import Signals
from gateway.signals.thresholds import add_months
from tests.exchanges.world import World
from tests.signals.conftest import at, children, report

EXEMPTED, HOME, PLACED = children(3, start=300_000_000)


def signals(world: World) -> Signals:
    service: Signals = world.app.state.signals
    return service


def alerts(world: World, party: Any) -> list[dict[str, Any]]:
    response = world.client.get("/api/v1/alerts", headers=party.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def audited_alerts(world: World) -> list[dict[str, Any]]:
    return [e for e in world.audit_entries() if e["action"] == "alert.at_home"]


def test_an_exemption_alerts_leerplicht_and_the_swv_after_three_months_once(world: World) -> None:
    today = date.today()
    recorded = world.client.post(
        "/api/v1/exemptions",
        json={
            "child": EXEMPTED,
            "article": "5 onder b",
            "valid_until": str(today.replace(year=today.year + 2)),
        },
        headers=world.utrecht.headers,
    )
    assert recorded.status_code == 201, recorded.text
    due = add_months(today, 3)
    at(world, date.fromordinal(due.toordinal() - 1))
    assert signals(world).raise_at_home_alerts(world.session) == 0
    at(world, due)
    assert signals(world).raise_at_home_alerts(world.session) == 2
    assert signals(world).raise_at_home_alerts(world.session) == 0  # idempotent
    assert maintain(world.session, signals(world), world.app.state.audit_signer).alerts_raised == 0
    for party in (world.utrecht, world.region):
        (alert,) = alerts(world, party)
        assert alert["cause"] == "exemption" and alert["since"] == str(today)
        assert alert["case_reference"] == recorded.json()["id"]
        assert alert["leerplicht_id"] == world.utrecht.id
    assert alerts(world, world.linde) == [] and alerts(world, world.vecht) == []
    entries = audited_alerts(world)
    assert {e["requester_id"] for e in entries} == {world.utrecht.id, world.region.id}
    assert all(e["purpose"] == "vrijstelling-status" and e["child_ref"] for e in entries)


def test_a_thuiszitter_with_a_new_school_raises_no_alert(world: World) -> None:
    today = date.today()
    for child in (HOME, PLACED):
        sent = report(world, world.linde, child, enrolled=False, not_enrolled_since=str(today))
        assert sent.status_code == 201, sent.text
    # A school takes one of them in: the previous school sends the onderwijskundig rapport.
    transfer = world.create(
        world.school,
        world.other_school,
        "onderwijskundig-rapport",
        ["onderwijsbehoeften"],
        child=PLACED,
    )
    delivered = world.deliver(world.school, transfer["id"], {"onderwijsbehoeften": "Rust."})
    assert delivered.status_code == 200, delivered.text
    at(world, add_months(today, 3))
    assert signals(world).raise_at_home_alerts(world.session) == 2  # HOME, to utrecht and region
    (alert,) = alerts(world, world.utrecht)
    assert alert["cause"] == "thuiszitter"
    verzuim = world.fetch(world.utrecht, str(alert["case_reference"]))
    assert verzuim.status_code == 200  # leerplicht knows the case by its own verzuimmelding
    assert verzuim.json()["fields"]["signal_type"] == "not_enrolled"
    assert len(audited_alerts(world)) == 2
