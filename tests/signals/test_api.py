"""Absence reports, the exemption register and its answers, through the public API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from gateway.children.models import Child
from gateway.signals.models import AbsenceSignal, Exemption
from tests.exchanges.world import World
from tests.signals.conftest import UTRECHT, children, hours, report

CHILD = children(1)[0]


def test_a_met_threshold_goes_to_the_leerplicht_of_the_childs_gemeente(world: World) -> None:
    response = report(world, world.linde, CHILD, unexcused_absences=hours(1, 2, 8, 9))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["signal"]["type"] == "absence" and body["signal"]["unexcused_hours"] == 16
    exchange = body["exchange"]
    assert exchange["purpose"] == "verzuimmelding" and exchange["status"] == "delivered"
    assert exchange["recipient_id"] == world.utrecht.id  # found by gemeentecode, not chosen
    assert world.fetch(world.vecht, exchange["id"]).status_code == 404
    received = world.fetch(world.utrecht, exchange["id"])
    assert received.status_code == 200, received.text
    fields = received.json()["fields"]
    assert set(fields) == {"absence_period", "school", "signal_type"}
    assert fields["signal_type"] == "absence"
    assert fields["absence_period"]["unexcused_hours"] == 16
    assert world.audit_actions(exchange["id"]) == ["decision", "delivery", "fetch"]


def test_the_other_gemeente_gets_its_own_signals(world: World) -> None:
    since = str(date.today() - timedelta(days=40))
    response = report(world, world.swv, CHILD, gemeente="1904", absent_since=since)
    assert response.status_code == 201, response.text
    assert response.json()["signal"]["type"] == "thuiszitter"
    assert response.json()["exchange"]["recipient_id"] == world.vecht.id


def test_below_every_threshold_nothing_is_sent_or_stored(world: World) -> None:
    response = report(world, world.linde, CHILD, unexcused_absences=hours(1, 2, 8, each=5))
    assert response.status_code == 200, response.text
    assert response.json()["signal"] is None and response.json()["exchange"] is None
    world.session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(Child)) == 0


def test_the_same_report_again_returns_the_first_signal(world: World) -> None:
    first = report(world, world.linde, CHILD, enrolled=False, not_enrolled_since="2026-09-01")
    again = report(world, world.linde, CHILD, enrolled=False, not_enrolled_since="2026-09-01")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["exchange"]["id"] == again.json()["exchange"]["id"]
    assert world.session.scalar(select(func.count()).select_from(AbsenceSignal)) == 1


def test_bad_reports_are_refused_with_the_offending_fields(world: World) -> None:
    tomorrow = str(date.today() + timedelta(days=1))
    ahead = report(world, world.linde, CHILD, absent_since=tomorrow)
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["pointer"] == "#/absent_since"
    nowhere = report(world, world.linde, CHILD, gemeente="GM9999", absent_since="2026-01-05")
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["pointer"] == "#/gemeente"
    assert report(world, world.linde, CHILD, gemeente="Utrecht").status_code == 422
    assert report(world, world.utrecht, CHILD, absent_since="2026-01-05").status_code == 403
    world.session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(AbsenceSignal)) == 0


def record(world: World, child: dict[str, str], **facts: object) -> Any:
    body = {"child": child, "article": "5 onder a", "valid_until": "2027-07-31", **facts}
    return world.client.post("/api/v1/exemptions", json=body, headers=world.utrecht.headers)


def ask(world: World, child: dict[str, str], by: Any = None) -> dict[str, Any]:
    party = by or world.region
    response = world.client.post(
        "/api/v1/exemption-checks",
        json={"child": child, "gemeente": UTRECHT},
        headers=party.headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_leerplicht_records_an_exemption_and_the_swv_is_answered(world: World) -> None:
    recorded = record(world, CHILD)
    assert recorded.status_code == 201, recorded.text
    check = ask(world, CHILD)
    assert check["status"] == "delivered" and check["source_id"] == world.utrecht.id
    answer = world.fetch(world.region, str(check["id"]))
    assert answer.json()["fields"] == {
        "exempted": True,
        "article": "5 onder a",
        "valid_until": "2027-07-31",
    }
    listed = world.client.get("/api/v1/exemptions", headers=world.utrecht.headers).json()
    assert [e["article"] for e in listed["items"]] == ["5 onder a"]


def test_a_child_without_an_exemption_is_answered_not_exempted(world: World) -> None:
    check = ask(world, CHILD)
    assert world.fetch(world.region, str(check["id"])).json()["fields"] == {"exempted": False}


def test_only_the_swv_may_ask(world: World) -> None:
    record(world, CHILD)
    check = ask(world, CHILD, by=world.linde)
    assert check["status"] == "denied" and check["payload"] is None


def test_no_exemption_reason_can_be_sent_in_any_way(world: World) -> None:
    for extra in ({"diagnosis": "autisme"}, {"doctor_statement": "..."}, {"reason": "x"}):
        refused = record(world, CHILD, **extra)
        assert refused.status_code == 422, extra
        pointer = refused.json()["errors"][0]["pointer"]
        assert pointer == f"#/{next(iter(extra))}"
    assert world.session.scalar(select(func.count()).select_from(Exemption)) == 0
    # Nor through the purpose: asked for, the policy refuses; delivered, the schema refuses.
    asked = world.create(
        world.swv,
        world.leerplicht,
        "vrijstelling-status",
        ["exempted", "diagnosis"],
        direction="request",
    )
    assert asked["status"] == "denied"
    offer = world.create(world.leerplicht, world.swv, "vrijstelling-status", ["exempted"])
    sent = world.deliver(world.leerplicht, offer["id"], {"exempted": True, "diagnosis": "x"})
    assert sent.status_code == 422
    assert sent.json()["errors"] == [
        {"pointer": "#/diagnosis", "detail": "not a field of this purpose"}
    ]
    assert not hasattr(Exemption, "diagnosis") and not hasattr(Exemption, "reason")


def test_only_leerplicht_records_exemptions(world: World) -> None:
    body = {"child": CHILD, "article": "5 onder a", "valid_until": "2027-07-31"}
    response = world.client.post("/api/v1/exemptions", json=body, headers=world.region.headers)
    assert response.status_code == 403
    past = record(world, CHILD, valid_until="2020-01-01")
    assert past.status_code == 422
