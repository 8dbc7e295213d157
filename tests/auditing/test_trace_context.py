"""W3C Trace Context: a caller's trace reaches every audit entry of its calls, comes back in
the response, and officers and clients find the entries by it."""

from __future__ import annotations

import re

from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def test_a_callers_trace_is_in_every_entry_of_its_calls_and_in_the_answers(
    world: World,
) -> None:
    def traced(parent: str) -> dict[str, str]:
        return {"traceparent": f"00-{TRACE}-{parent}-01"}

    world.guardians(world.school, YOUNG, {"relation": "moeder", "gezag": True})
    asked = world.create(
        world.school,
        world.kinderopvang,
        "warme-overdracht",
        WARM_FIELDS,
        direction="request",
        headers=traced("00f067aa0ba902b7"),
    )
    world.grant_all(asked["id"])
    delivered = world.client.put(
        f"/api/v1/exchanges/{asked['id']}/payload",
        json=WARM_PAYLOAD,
        headers={**world.kinderopvang.headers, **traced("00f067aa0ba902b8")},
    )
    fetched = world.client.get(
        f"/api/v1/exchanges/{asked['id']}/payload",
        headers={**world.school.headers, **traced("00f067aa0ba902b9")},
    )

    assert delivered.status_code == 200 and fetched.status_code == 200
    for response, parent in ((delivered, "00f067aa0ba902b8"), (fetched, "00f067aa0ba902b9")):
        found = TRACEPARENT.match(response.headers["traceparent"])
        assert found is not None
        assert found[1] == TRACE and found[2] != parent  # our span, in the caller's trace
    entries = [e for e in world.audit_entries() if e["exchange_id"] == asked["id"]]
    by_action = {e["action"]: e for e in entries if e["trace_id"] == TRACE}
    assert {"decision", "delivery", "fetch"} <= set(by_action)
    fetch_span = TRACEPARENT.match(fetched.headers["traceparent"])
    assert fetch_span is not None and by_action["fetch"]["span_id"] == fetch_span[2]
    consent = [e for e in entries if e["action"].startswith("consent.")]
    assert consent and all(e["trace_id"] != TRACE for e in consent)  # not part of those calls

    mine = world.client.get(
        "/api/v1/audit/entries", params={"traceId": TRACE}, headers=world.school.headers
    )
    assert mine.status_code == 200
    assert {i["entry"]["action"] for i in mine.json()["items"]} >= {"decision", "fetch"}
    assert all(i["entry"]["trace_id"] == TRACE for i in mine.json()["items"])


def test_without_a_valid_traceparent_the_gateway_starts_a_trace(world: World) -> None:
    for offered in (None, "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "junk"):
        headers = {**world.school.headers, **({"traceparent": offered} if offered else {})}
        response = world.client.get("/api/v1/exchanges", headers=headers)
        found = TRACEPARENT.match(response.headers["traceparent"])
        assert found is not None
        assert found[1] != "0" * 32
    bad = world.client.get(
        "/api/v1/audit/entries", params={"traceId": "not-hex"}, headers=world.school.headers
    )
    assert bad.status_code == 422
    assert "traceId" in str(bad.json()["errors"])
    assert bad.headers["content-type"] == "application/problem+json"
