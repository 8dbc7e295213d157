"""Need to know (ADR 0013): each party of an exchange reads the decisions as it may see them.
The school a shelter places a child with does not learn which parent is restricted, which one
stays in the shelter, the safety code or the shelter's break-glass justification; the shelter
reads what it supplied. Both rebuild ``input_hash`` from what they were shown, with nothing but
``rfc8785`` and ``hashlib``, and it is the hash the signed audit entry carries. Replay and
privacy officers read the records whole. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import operator
from typing import Any

import rfc8785
from sqlalchemy import select

from gateway.decisions.models import DecisionRecord
from gateway.decisions.replay import Replayer
from tests.exchanges.world import YOUNG, World

JUSTIFICATION = "Veilig Thuis is betrokken; acuut risico bij ophalen."
WITHHELD = {"withheld": "supplied by the other party; not shown to you"}
HOUSEHOLD = [
    "/subject/safety_code",
    "/subject/guardians/0/restricted",
    "/subject/guardians/0/accompanying",
    "/subject/guardians/1/restricted",
    "/subject/guardians/1/accompanying",
    "/break_glass/justification",
]


def at(document: dict[str, Any], pointer: str) -> tuple[Any, str | int]:
    *path, last = [int(p) if p.isdigit() else p for p in pointer.split("/")[1:]]
    return functools.reduce(operator.getitem, path, document), last


def rebuilt_input_hash(item: dict[str, Any]) -> str:
    """What any party can compute from its view alone, following the API's description."""
    document = json.loads(json.dumps(item["input"]))
    for pointer, proof in item["commitments"].items():
        parent, last = at(document, pointer)
        if "salt" in proof:
            salted = base64.b64decode(proof["salt"]) + rfc8785.dumps(parent[last])
            parent[last] = "sha256:" + hashlib.sha256(salted).hexdigest()
        else:
            parent[last] = proof["commitment"]
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def placed_in_an_emergency(world: World) -> str:
    world.guardians(
        world.shelter,
        YOUNG,
        {"relation": "moeder", "gezag": True, "accompanying": True},
        {"relation": "vader", "gezag": True, "restricted": True},
    )
    code = world.client.put(
        "/api/v1/children/safety-code",
        json={**YOUNG, "safety_code": "oranje"},
        headers=world.shelter.headers,
    )
    assert code.status_code == 200, code.text
    created = world.create(
        world.shelter,
        world.school,
        "plaatsing-opvang",
        ["safe_place_notice"],
        break_glass={"justification": JUSTIFICATION},
    )
    return str(created["id"])


def decisions(world: World, exchange_id: str, reader: Any) -> list[dict[str, Any]]:
    answer = world.client.get(f"/api/v1/exchanges/{exchange_id}/decisions", headers=reader.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_the_recipient_is_not_shown_the_shelters_household_and_still_checks_the_hash(
    world: World,
) -> None:
    exchange_id = placed_in_an_emergency(world)
    [item] = decisions(world, exchange_id, world.school)

    assert sorted(item["commitments"]) == sorted(HOUSEHOLD)
    for pointer in HOUSEHOLD:
        parent, last = at(item["input"], pointer)
        assert parent[last] == WITHHELD, pointer
        assert set(item["commitments"][pointer]) == {"commitment"}
    text = json.dumps(item)
    assert JUSTIFICATION not in text and "oranje" not in text
    assert '"restricted": true' not in text and '"accompanying": true' not in text
    # What the school may know under the purpose is shown as evaluated.
    assert item["input"]["purpose"] == "plaatsing-opvang"
    assert item["input"]["subject"]["age"] == 5
    assert [g["gezag"] for g in item["input"]["subject"]["guardians"]] == [True, True]
    assert item["answer"]["allow"] is True
    entries = {e["index"]: e for e in world.audit_entries()}
    assert (
        rebuilt_input_hash(item) == item["input_hash"] == entries[item["audit_index"]]["input_hash"]
    )


def test_the_shelter_reads_what_it_supplied_and_checks_the_same_hash(world: World) -> None:
    exchange_id = placed_in_an_emergency(world)
    [mine] = decisions(world, exchange_id, world.shelter)
    [theirs] = decisions(world, exchange_id, world.school)

    assert mine["input"]["subject"]["safety_code"] == "oranje"
    assert mine["input"]["break_glass"]["justification"] == JUSTIFICATION
    guardians = mine["input"]["subject"]["guardians"]
    assert sorted((g["restricted"], g["accompanying"]) for g in guardians) == [
        (False, True),
        (True, False),
    ]
    assert all(set(proof) == {"salt"} for proof in mine["commitments"].values())
    assert rebuilt_input_hash(mine) == mine["input_hash"] == theirs["input_hash"]


def test_a_withheld_fact_cannot_be_guessed_from_its_commitment(world: World) -> None:
    """Two decisions on the same facts commit to them with different salts: a yes/no cannot be
    told from the hash of a yes."""
    first = placed_in_an_emergency(world)
    second = world.create(
        world.shelter,
        world.school,
        "plaatsing-opvang",
        ["safe_place_notice"],
        break_glass={"justification": JUSTIFICATION},
    )["id"]
    [a] = decisions(world, first, world.school)
    [b] = decisions(world, second, world.school)

    pointer = "/subject/guardians/1/restricted"
    assert a["commitments"][pointer] != b["commitments"][pointer]
    for guess in (True, False):
        plain = "sha256:" + hashlib.sha256(rfc8785.dumps(guess)).hexdigest()
        assert a["commitments"][pointer]["commitment"] != plain


def test_replay_reads_the_records_whole_and_checks_the_commitments(world: World) -> None:
    exchange_id = placed_in_an_emergency(world)
    world.session.expire_all()
    rows = world.session.scalars(
        select(DecisionRecord).where(DecisionRecord.exchange_id == exchange_id)
    ).all()

    [replayed] = list(Replayer(world.session).replay(rows))

    assert replayed.identical and not replayed.faults
    assert rows[0].input["break_glass"]["justification"] == JUSTIFICATION
    assert rows[0].commitments is not None
    assert {c["by"] for c in rows[0].commitments.values()} == {world.shelter.id}
