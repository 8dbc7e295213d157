"""Every decision the gateway acts on is kept with its input and answer, and its audit entry
commits to both; every bundle is kept once, under its version. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import operator
from typing import Any

import rfc8785
from sqlalchemy import func, select

from gateway.decisions.models import DecisionRecord, PolicyBundleRecord
from gateway.policy.bundle import PolicyBundle
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World

BOTH_PARENTS = ({"relation": "moeder", "gezag": True}, {"relation": "vader", "gezag": True})
BSN = YOUNG["bsn"]


def sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def committed_hash(row: DecisionRecord) -> str:
    """The input hash from the kept input and its salts, by ADR 0013 and nothing of ours: each
    committed fact replaced by ``sha256:`` + hex SHA-256(salt bytes || RFC 8785 of the fact)."""
    document = copy.deepcopy(row.input)
    for pointer, commitment in (row.commitments or {}).items():
        *path, last = [int(p) if p.isdigit() else p for p in pointer.split("/")[1:]]
        parent = functools.reduce(operator.getitem, path, document)
        fact = rfc8785.dumps(parent[last])
        parent[last] = (
            "sha256:" + hashlib.sha256(base64.b64decode(commitment["salt"]) + fact).hexdigest()
        )
    return sha256(document)


def records(world: World, exchange_id: str) -> list[DecisionRecord]:
    world.session.expire_all()
    return list(
        world.session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.exchange_id == exchange_id)
            .order_by(DecisionRecord.audit_index)
        )
    )


def delivered_and_fetched(world: World) -> str:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.grant_all(offer["id"])
    assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 200
    assert world.fetch(world.school, offer["id"]).status_code == 200
    return str(offer["id"])


def test_create_each_consent_answer_delivery_and_fetch_keep_their_decision(world: World) -> None:
    exchange_id = delivered_and_fetched(world)

    kept = records(world, exchange_id)

    assert [r.action for r in kept] == ["decision", "decision", "decision", "delivery", "fetch"]
    outcomes = [(r.answer["allow"], bool(r.answer["obligations"])) for r in kept]
    assert outcomes[0] == (False, True)  # waiting for both parents
    assert outcomes[-1][0] is True
    entries = {e["index"]: e for e in world.audit_entries()}
    for row in kept:
        entry = entries[row.audit_index]
        assert entry["action"] == row.action and entry["exchange_id"] == exchange_id
        assert entry["input_hash"] == committed_hash(row)
        assert entry["decision_hash"] == sha256(row.answer)
        assert entry["policy_version"] == row.policy_version == row.answer["policy_version"]


def test_the_kept_input_is_what_the_policy_saw_and_holds_no_bsn_or_value(world: World) -> None:
    exchange_id = delivered_and_fetched(world)

    fetch = records(world, exchange_id)[-1]

    assert fetch.input["purpose"] == "warme-overdracht"
    assert fetch.input["subject"]["age"] == 5
    assert len(fetch.input["subject"]["guardians"]) == 2
    assert {c["status"] for c in fetch.input["consents"]} == {"active"}
    assert isinstance(fetch.input["now"], int)
    stored = json.dumps([r.input for r in records(world, exchange_id)])
    assert BSN not in stored
    for value in WARM_PAYLOAD.values():
        assert value not in stored


def test_safety_code_and_guardian_changes_keep_their_decision(world: World) -> None:
    world.guardians(world.shelter, YOUNG, {"relation": "moeder", "gezag": True})
    response = world.client.put(
        "/api/v1/children/safety-code",
        json={**YOUNG, "safety_code": "rood"},
        headers=world.shelter.headers,
    )
    assert response.status_code == 200, response.text

    world.session.expire_all()
    kept = world.session.scalars(
        select(DecisionRecord)
        .where(DecisionRecord.exchange_id.is_(None))
        .order_by(DecisionRecord.audit_index)
    ).all()

    assert [(r.action, r.package) for r in kept] == [
        ("guardians.change", "kindkoppeling.guardians"),
        ("safety.change", "kindkoppeling.safety"),
    ]
    assert kept[1].input["new_code"] == "rood" and kept[1].answer["allow"] is True
    entries = {e["index"]: e for e in world.audit_entries()}
    assert entries[kept[1].audit_index]["decision_hash"] == sha256(kept[1].answer)


def test_a_refused_change_is_kept_too(world: World) -> None:
    response = world.client.put(
        "/api/v1/children/safety-code",
        json={**YOUNG, "safety_code": "rood"},
        headers=world.school.headers,
    )
    assert response.status_code == 403

    world.session.expire_all()
    refused = world.session.scalars(select(DecisionRecord)).one()
    assert refused.action == "safety.change" and refused.answer["allow"] is False


def test_the_bundle_is_kept_once_under_its_version_and_rebuilds_to_it(world: World) -> None:
    delivered_and_fetched(world)
    world.create(world.kinderopvang, world.school, "warme-overdracht", ["home_language"])

    bundles = world.session.scalars(select(PolicyBundleRecord)).all()

    assert [b.version for b in bundles] == [world.exchanges.decider.policy_version]
    assert PolicyBundle.from_files(bundles[0].files).version == bundles[0].version
    count = world.session.scalar(select(func.count()).select_from(DecisionRecord))
    assert count == 7  # guardians, five for the first exchange, one for the second


def test_previews_are_not_kept(world: World) -> None:
    response = world.client.post(
        "/api/v1/decisions/preview",
        json={
            "purpose": "warme-overdracht",
            "direction": "offer",
            "counterparty_id": world.school.id,
            "requested_fields": ["home_language"],
            "subject": {"age": 4},
        },
        headers=world.kinderopvang.headers,
    )
    assert response.status_code == 200, response.text

    assert world.session.scalar(select(func.count()).select_from(DecisionRecord)) == 0
    assert world.audit_entries()[-1]["input_hash"] is None


def test_parties_read_the_decisions_others_get_404(world: World) -> None:
    exchange_id = delivered_and_fetched(world)

    response = world.client.get(
        f"/api/v1/exchanges/{exchange_id}/decisions", headers=world.school.headers
    )
    stranger = world.client.get(
        f"/api/v1/exchanges/{exchange_id}/decisions", headers=world.stranger.headers
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    kept = records(world, exchange_id)
    assert [i["audit_index"] for i in items] == [r.audit_index for r in kept]
    assert items[-1]["answer"] == kept[-1].answer
    assert items[-1]["input_hash"] == committed_hash(kept[-1])
    assert items[-1]["policy_version"] == world.exchanges.decider.policy_version
    assert stranger.status_code == 404
