"""A child under code rood: a verzuimmelding tells leerplicht nothing that names a school or a
place, asked through the API, and the preview of it on that real child says the same (while a
made-up child without a code is promised the school, and the answer says it is hypothetical).
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gateway.children.models import Child
from tests.exchanges.world import World
from tests.signals.conftest import children, hours, report

CHILD = children(1, start=210_000_000)[0]
ROOD_REASON = "location and address are never shared under safety code rood"


def set_code(world: World, child: dict[str, str], code: str) -> None:
    response = world.client.put(
        "/api/v1/children/safety-code",
        json={**child, "safety_code": code},
        headers=world.shelter.headers,
    )
    assert response.status_code == 200, response.text


def preview(world: World, **who: Any) -> dict[str, Any]:
    response = world.client.post(
        "/api/v1/decisions/preview",
        json={
            "purpose": "verzuimmelding",
            "direction": "offer",
            "counterparty_id": world.utrecht.id,
            "requested_fields": ["absence_period", "school", "signal_type"],
            **who,
        },
        headers=world.linde.headers,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_verzuimmelding_under_rood_does_not_name_the_school(world: World) -> None:
    set_code(world, CHILD, "rood")

    response = report(world, world.linde, CHILD, unexcused_absences=hours(1, 2, 8, 9))

    assert response.status_code == 201, response.text
    exchange = response.json()["exchange"]
    assert exchange["decision"]["fields"] == ["absence_period", "signal_type"]
    assert exchange["decision"]["stripped"] == {"school": ROOD_REASON}
    received = world.fetch(world.utrecht, exchange["id"])
    assert received.status_code == 200, received.text
    assert set(received.json()["fields"]) == {"absence_period", "signal_type"}
    assert "Linde" not in received.text and "school" not in received.json()["fields"]


def test_without_a_code_the_school_is_named(world: World) -> None:
    response = report(world, world.linde, CHILD, unexcused_absences=hours(1, 2, 8, 9))

    received = world.fetch(world.utrecht, response.json()["exchange"]["id"])
    assert "school" in received.json()["fields"]


def test_the_preview_on_the_real_child_says_the_same(world: World) -> None:
    set_code(world, CHILD, "rood")

    real = preview(world, child=CHILD)
    made_up = preview(world, subject={"age": 12})

    assert real["hypothetical"] is False
    assert real["fields"] == ["absence_period", "signal_type"]
    assert real["stripped"] == {"school": ROOD_REASON}
    assert made_up["hypothetical"] is True
    assert "school" in made_up["fields"]


def test_the_preview_names_the_child_by_an_earlier_exchange_too(world: World) -> None:
    set_code(world, CHILD, "rood")
    earlier = report(world, world.linde, CHILD, unexcused_absences=hours(1, 2, 8, 9))

    real = preview(world, child={"exchange_id": earlier.json()["exchange"]["id"]})

    assert real["hypothetical"] is False and "school" not in real["fields"]


def test_a_preview_on_a_child_the_gateway_does_not_know_registers_nothing(world: World) -> None:
    unknown = children(1, start=220_000_000)[0]

    answer = preview(world, child=unknown)

    assert answer["hypothetical"] is False and "school" in answer["fields"]
    world.session.expire_all()
    assert world.session.scalar(select(func.count()).select_from(Child)) == 0
    assert world.audit_entries()[-1]["action"] == "decision.preview"


def test_a_preview_names_one_child_real_or_made_up(world: World) -> None:
    both = world.client.post(
        "/api/v1/decisions/preview",
        json={
            "purpose": "verzuimmelding",
            "direction": "offer",
            "counterparty_id": world.utrecht.id,
            "requested_fields": ["school"],
            "child": CHILD,
            "subject": {"age": 12},
        },
        headers=world.linde.headers,
    )
    wrong_date = world.client.post(
        "/api/v1/decisions/preview",
        json={
            "purpose": "verzuimmelding",
            "direction": "offer",
            "counterparty_id": world.utrecht.id,
            "requested_fields": ["school"],
            "child": {"bsn": "111222333", "birth_date": "2999-01-01"},
        },
        headers=world.linde.headers,
    )

    assert both.status_code == 422
    assert both.headers["content-type"].startswith("application/problem+json")
    assert wrong_date.status_code == 422
    assert wrong_date.json()["errors"][0]["pointer"] == "#/child/birth_date"
