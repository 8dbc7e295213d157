"""The exchange API at its edges: who may see what, idempotent creation, naming a child, and
every way a delivery can be wrong."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gateway.exchanges.models import Exchange
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World

SIGNAL_FIELDS = ["absence_period", "signal_type"]
SIGNAL = {"absence_period": {"from": "2026-10-01"}, "signal_type": "thuiszitter"}


def delivered_signal(world: World) -> dict:  # type: ignore[type-arg]
    signal = world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)
    assert world.deliver(world.school, signal["id"], SIGNAL).status_code == 200
    return signal


def test_a_third_organisation_gets_404_on_every_exchange_endpoint(world: World) -> None:
    signal = delivered_signal(world)
    url = f"/api/v1/exchanges/{signal['id']}"
    stranger = world.stranger.headers

    answers = [
        world.client.get(url, headers=stranger),
        world.client.get(f"{url}/payload", headers=stranger),
        world.client.put(f"{url}/payload", json=SIGNAL, headers=stranger),
        world.client.post(f"{url}/withdrawal", headers=stranger),
        world.client.post(f"{url}/placement", headers=stranger),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert {a.json()["detail"] for a in answers} == {"There is no exchange with this id."}
    listed = world.client.get("/api/v1/exchanges", headers=stranger).json()
    assert listed["total"] == 0 and listed["items"] == []
    assert world.status(world.school, signal["id"]) == "delivered"  # nothing changed


def test_an_unknown_id_looks_exactly_like_someone_elses(world: World) -> None:
    signal = delivered_signal(world)
    theirs = world.client.get(f"/api/v1/exchanges/{signal['id']}", headers=world.stranger.headers)
    unknown = world.client.get("/api/v1/exchanges/nope", headers=world.stranger.headers)

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"] == unknown.json()["detail"]


def test_parties_in_the_wrong_role_are_refused(world: World) -> None:
    signal = world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)

    by_recipient = world.deliver(world.leerplicht, signal["id"], SIGNAL)
    world.deliver(world.school, signal["id"], SIGNAL)
    by_source = world.fetch(world.school, signal["id"])
    twice = world.deliver(world.school, signal["id"], SIGNAL)

    assert by_recipient.status_code == 403
    assert by_source.status_code == 403
    assert twice.status_code == 409
    # The problem's status is the HTTP status (RFC 9457); the exchange's state has its own name.
    assert twice.json()["status"] == 409 and twice.json()["exchange_status"] == "delivered"


def test_the_same_idempotency_key_gives_the_same_exchange(world: World) -> None:
    key = {"Idempotency-Key": "school-42-attempt"}
    first = world.create(
        world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS, headers=key
    )
    again = world.create(
        world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS, headers=key, expect=200
    )
    other = world.create(
        world.school, world.leerplicht, "verzuimmelding", ["signal_type"], headers=key, expect=422
    )

    assert again["id"] == first["id"]
    assert other["type"] == "urn:kindkoppeling:problem:idempotency-key-reused"
    world.session.expire_all()
    assert len(list(world.session.scalars(select(Exchange)))) == 1


def test_a_child_named_by_an_earlier_exchange(world: World) -> None:
    first = world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)
    again = world.create(
        world.school,
        world.leerplicht,
        "verzuimmelding",
        ["signal_type"],
        child={"exchange_id": first["id"]},
    )
    not_yours = world.create(
        world.stranger,
        world.leerplicht,
        "verzuimmelding",
        ["signal_type"],
        child={"exchange_id": first["id"]},
        expect=422,
    )

    world.session.expire_all()
    rows = {e.id: e.child_id for e in world.session.scalars(select(Exchange))}
    assert rows[again["id"]] == rows[first["id"]]
    assert not_yours["errors"][0]["pointer"] == "#/child/exchange_id"


@pytest.mark.parametrize(
    ("child", "pointer"),
    [
        ({"bsn": "111222334", "birth_date": "2021-05-01"}, "#/child/bsn"),
        ({"bsn": "111222333", "birth_date": "2090-01-01"}, "#/child/birth_date"),
        ({"bsn": "111222333"}, "#/child"),
        ({"bsn": "111222333", "birth_date": "2021-05-01", "exchange_id": "x"}, "#/child"),
    ],
)
def test_a_badly_named_child_is_422_and_never_echoed(
    world: World, child: dict[str, str], pointer: str
) -> None:
    answer = world.create(
        world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS, child=child, expect=422
    )

    assert answer["errors"][0]["pointer"] == pointer
    assert child["bsn"] not in json.dumps(answer)


def test_an_unknown_purpose_is_recorded_as_denied(world: World) -> None:
    answer = world.create(world.school, world.leerplicht, "schoolfoto", ["photo"])

    assert answer["status"] == "denied"
    assert answer["decision"]["reasons"] == [
        "The purpose 'schoolfoto' is not in the processing register."
    ]


def test_deliveries_in_the_wrong_shape_are_refused_and_nothing_is_stored(world: World) -> None:
    signal = world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)
    url = f"/api/v1/exchanges/{signal['id']}/payload"
    headers = world.school.headers

    as_text = world.client.put(
        url, content=b"signal_type=absence", headers={**headers, "Content-Type": "text/plain"}
    )
    too_big = world.client.put(url, json={"signal_type": "x" * 2_000_000}, headers=headers)
    wrong_type = world.deliver(
        world.school, signal["id"], {"signal_type": "sick", "absence_period": {}}
    )
    not_an_object = world.client.put(url, json=["signal_type"], headers=headers)
    nothing_granted = world.deliver(world.school, signal["id"], {"school": "12AB"})

    assert as_text.status_code == 415
    assert too_big.status_code == 413
    assert wrong_type.status_code == 422
    assert sorted(e["pointer"] for e in wrong_type.json()["errors"]) == [
        "#/absence_period",
        "#/signal_type",
    ]
    assert "sick" not in wrong_type.text
    assert not_an_object.status_code == 422
    assert nothing_granted.status_code == 422
    assert nothing_granted.json()["errors"][0]["pointer"] == "#/school"
    assert world.status(world.school, signal["id"]) == "awaiting_delivery"


def test_the_work_queue_is_filtered_and_paginated(world: World) -> None:
    for _ in range(3):
        world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)
    world.create(world.school, world.leerplicht, "schoolfoto", ["photo"])

    page = world.client.get(
        "/api/v1/exchanges?role=source&status=awaiting_delivery&limit=2&offset=1",
        headers=world.school.headers,
    ).json()
    as_recipient = world.client.get(
        "/api/v1/exchanges?role=recipient", headers=world.school.headers
    ).json()
    bad = world.client.get("/api/v1/exchanges?status=lost", headers=world.school.headers)

    assert page["total"] == 3 and len(page["items"]) == 2 and page["offset"] == 1
    assert as_recipient["total"] == 0
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "status"


def test_break_glass_is_flagged_in_the_exchange_and_the_log(world: World) -> None:
    offer = world.create(
        world.kinderopvang,
        world.school,
        "zorg-afstemming",
        ["contact_persons"],
        break_glass={"justification": "Veilig Thuis is betrokken; acute zorg om de veiligheid."},
    )

    assert offer["break_glass"] is True
    assert offer["status"] == "awaiting_delivery"
    assert offer["decision"]["basis"] == "break_glass"
    assert {"type": "review_break_glass", "holders": None, "parties": None} in offer["decision"][
        "obligations"
    ]
    assert world.audit_actions(offer["id"]) == ["break_glass"]


def test_warme_overdracht_also_works_as_a_request_from_the_school(world: World) -> None:
    world.guardians(world.school, YOUNG, {"relation": "moeder", "gezag": True})
    asked = world.create(
        world.school, world.kinderopvang, "warme-overdracht", WARM_FIELDS, direction="request"
    )
    world.grant_all(asked["id"])

    assert world.deliver(world.kinderopvang, asked["id"], WARM_PAYLOAD).status_code == 200
    assert world.fetch(world.school, asked["id"]).json()["fields"] == WARM_PAYLOAD
