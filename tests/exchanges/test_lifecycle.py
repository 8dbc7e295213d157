"""Lifecycle of an exchange for every purpose of the brief, on SQLite and PostgreSQL: decided,
waiting for consent, delivered with stripping, fetched, and ended by revocation, expiry,
withdrawal or a placement elsewhere."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.consent.models import ConsentStatus, Notice, NoticeKind
from gateway.exchanges import consent_answers, expiry
from gateway.exchanges.models import Payload
from tests.exchanges.world import TEEN, WARM_FIELDS, WARM_PAYLOAD, YOUNG, World

BOTH_PARENTS = ({"relation": "moeder", "gezag": True}, {"relation": "vader", "gezag": True})


def test_warme_overdracht_waits_for_both_parents_then_delivers_the_common_fields(
    world: World,
) -> None:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    assert offer["status"] == "awaiting_consent"
    mother, father = world.consents(offer["id"])
    assert {mother.status, father.status} == {ConsentStatus.PROPOSED}
    notices = world.session.scalars(select(Notice).where(Notice.exchange_id == offer["id"]))
    assert {n.kind for n in notices} == {NoticeKind.CONSENT_REQUESTED}

    consent_answers.answer_consent(
        world.exchanges, world.session, mother.id, mother.holder, grant=True
    )
    assert world.status(world.school, offer["id"]) == "awaiting_consent"
    consent_answers.answer_consent(
        world.exchanges,
        world.session,
        father.id,
        father.holder,
        grant=True,
        fields=["development_summary", "home_language"],
    )
    assert world.status(world.school, offer["id"]) == "awaiting_delivery"

    delivered = world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["stored"] == ["development_summary", "home_language"]
    assert delivered.json()["stripped"] == {
        "social_emotional_notes": "not covered by the consent of every holder"
    }

    fetched = world.fetch(world.school, offer["id"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["fields"] == {
        k: WARM_PAYLOAD[k] for k in ("development_summary", "home_language")
    }
    assert world.status(world.school, offer["id"]) == "fetched"
    assert world.audit_actions(offer["id"]) == [
        "decision",
        "consent.grant",
        "decision",
        "consent.grant",
        "decision",
        "delivery",
        "fetch",
    ]


def test_one_decline_denies_and_nothing_can_be_delivered(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    mother, _ = world.consents(offer["id"])

    consent_answers.answer_consent(
        world.exchanges, world.session, mother.id, mother.holder, grant=False
    )

    read = world.read(world.school, offer["id"]).json()
    assert read["status"] == "denied"
    assert "declined" in read["status_reason"]
    assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 409


def test_a_child_of_14_consents_with_the_parents(world: World) -> None:
    world.guardians(world.school, TEEN, {"relation": "moeder", "gezag": True})
    offer = world.create(
        world.school, world.kinderopvang, "zorg-afstemming", ["what_helps_in_class"], child=TEEN
    )

    holders = [c.holder for c in world.consents(offer["id"])]
    assert "child" in holders and len(holders) == 2
    world.grant_all(offer["id"])
    assert world.status(world.school, offer["id"]) == "awaiting_delivery"


def test_revocation_mid_flow_shreds_the_undelivered_payload(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.grant_all(offer["id"])
    assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 200
    (consent,) = world.consents(offer["id"])

    consent_answers.revoke_consent(world.exchanges, world.session, consent.id, consent.holder)

    assert world.status(world.school, offer["id"]) == "revoked"
    assert world.fetch(world.school, offer["id"]).status_code == 409
    world.session.expire_all()
    row = world.session.get(Payload, offer["id"])
    assert row is not None and row.wrapped_key is None and row.ciphertext is None
    assert world.audit_actions(offer["id"])[-3:] == ["consent.revoke", "exchange.revoked", "shred"]


def test_revocation_after_fetch_keeps_history_but_destroys_the_stored_copy(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.grant_all(offer["id"])
    world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD)
    assert world.fetch(world.school, offer["id"]).status_code == 200
    (consent,) = world.consents(offer["id"])

    consent_answers.revoke_consent(world.exchanges, world.session, consent.id, consent.holder)

    assert world.status(world.school, offer["id"]) == "fetched"
    again = world.fetch(world.school, offer["id"])
    assert again.status_code == 410
    assert again.json()["type"] == "urn:kindkoppeling:problem:payload-shredded"


def test_an_expired_consent_ends_the_exchange_at_fetch_and_in_maintenance(world: World) -> None:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    first = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    second = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    soon = world.exchanges.clock().replace(microsecond=0)
    for offer in (first, second):
        world.grant_all(offer["id"], valid_until=soon + timedelta(days=10))
        world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD)
    world.travel(days=11)

    refused = world.fetch(world.school, first["id"])
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:kindkoppeling:problem:denied-by-policy"
    assert any("expired" in r for r in refused.json()["reasons"])
    report = expiry.expire_due(world.exchanges, world.session)

    assert report.consents_expired == 2
    assert report.exchanges_expired == 1  # the first one was already ended at fetch
    assert world.read(world.school, first["id"]).json()["status"] == "expired"
    assert world.read(world.school, second["id"]).json()["status_reason"] == "consent expired"
    assert expiry.expire_due(world.exchanges, world.session).exchanges_expired == 0  # idempotent


def test_verzuimmelding_needs_no_consent_informs_parents_and_expires_after_retention(
    world: World,
) -> None:
    world.guardians(world.school, YOUNG, *BOTH_PARENTS)
    signal = world.create(
        world.school, world.leerplicht, "verzuimmelding", ["absence_period", "signal_type"]
    )
    assert signal["status"] == "awaiting_delivery"
    assert signal["decision"]["basis"] == "legal_duty"
    informed = world.session.scalars(select(Notice).where(Notice.exchange_id == signal["id"]))
    assert sorted(n.kind for n in informed) == [NoticeKind.INFORMED] * 2
    payload = {
        "absence_period": {"from": "2026-10-01", "unexcused_hours": 18},
        "signal_type": "absence",
    }
    assert world.deliver(world.school, signal["id"], payload).status_code == 200

    world.travel(days=366)
    report = expiry.expire_due(world.exchanges, world.session)

    assert report.exchanges_expired == 1 and report.payloads_shredded == 1
    assert world.status(world.leerplicht, signal["id"]) == "expired"
    assert world.fetch(world.leerplicht, signal["id"]).status_code == 409


def test_onderwijskundig_rapport_on_request_and_withdrawn_by_the_requester(world: World) -> None:
    request = world.create(
        world.school,
        world.other_school,
        "onderwijskundig-rapport",
        ["onderwijsbehoeften", "learning_results"],
        direction="request",
    )
    assert request["status"] == "awaiting_delivery"
    assert request["source_id"] == world.other_school.id
    queue = world.client.get(
        "/api/v1/exchanges?role=source&status=awaiting_delivery", headers=world.other_school.headers
    ).json()
    assert [e["id"] for e in queue["items"]] == [request["id"]]
    payload = {"onderwijsbehoeften": "Rustige werkplek.", "learning_results": "Rekenen op niveau."}
    assert world.deliver(world.other_school, request["id"], payload).status_code == 200

    withdrawn = world.client.post(
        f"/api/v1/exchanges/{request['id']}/withdrawal",
        json={"reason": "leerling blijft"},
        headers=world.school.headers,
    )

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["payload"]["shredded_at"] is not None
    again = world.client.post(
        f"/api/v1/exchanges/{request['id']}/withdrawal", headers=world.school.headers
    )
    assert again.status_code == 409
    assert again.json()["type"] == "urn:kindkoppeling:problem:conflict"


def test_tlv_aanvraag_goes_at_once_but_only_as_an_offer(world: World) -> None:
    fields = ["onderwijsbehoeften", "ontwikkelingsperspectief"]
    offer = world.create(world.school, world.swv, "tlv-aanvraag", fields)
    asked = world.create(world.swv, world.school, "tlv-aanvraag", fields, direction="request")

    assert offer["status"] == "awaiting_delivery" and offer["decision"]["level"] == "full"
    assert asked["status"] == "denied"


def test_vrijstelling_status_never_carries_the_reason(world: World) -> None:
    offer = world.create(
        world.leerplicht, world.swv, "vrijstelling-status", ["exempted", "article"]
    )
    assert offer["status"] == "awaiting_delivery"

    with_reason = world.deliver(
        world.leerplicht, offer["id"], {"exempted": True, "article": "5 onder a", "diagnosis": "x"}
    )
    assert with_reason.status_code == 422
    assert with_reason.json()["errors"] == [
        {"pointer": "#/diagnosis", "detail": "not a field of this purpose"}
    ]
    asked_reason = world.create(world.leerplicht, world.swv, "vrijstelling-status", ["diagnosis"])
    assert asked_reason["status"] == "denied"
    assert (
        world.deliver(
            world.leerplicht, offer["id"], {"exempted": True, "article": "5 onder a"}
        ).status_code
        == 200
    )


def test_plaatsing_opvang_under_rood_staged_disclosure(world: World) -> None:
    shelter = world.shelter
    world.client.put(
        "/api/v1/children/safety-code",
        json={**YOUNG, "safety_code": "rood"},
        headers=shelter.headers,
    )
    world.guardians(
        shelter,
        YOUNG,
        {"relation": "moeder", "gezag": True, "accompanying": True},
        {"relation": "vader", "gezag": True, "restricted": True},
    )
    summary_fields = ["age", "onderwijsbehoeften", "residence_municipality"]
    to_first = world.create(shelter, world.school, "plaatsing-opvang", summary_fields)
    to_second = world.create(shelter, world.other_school, "plaatsing-opvang", summary_fields)
    to_leerplicht = world.create(
        shelter, world.leerplicht, "plaatsing-opvang", ["safe_place_notice", "age"]
    )
    # Only the accompanying mother is asked; the restricted father never is.
    assert [len(world.consents(x["id"])) for x in (to_first, to_second)] == [1, 1]
    assert to_first["decision"]["stripped"]["residence_municipality"].startswith("location")
    assert to_leerplicht["decision"]["fields"] == ["safe_place_notice"]
    summary = {"age": 5, "onderwijsbehoeften": "Veel structuur."}
    for offer in (to_first, to_second):
        world.grant_all(offer["id"])
        assert world.deliver(shelter, offer["id"], summary).status_code == 200

    placed = world.client.post(
        f"/api/v1/exchanges/{to_second['id']}/placement", headers=world.other_school.headers
    )
    assert placed.status_code == 200, placed.text

    first = world.read(world.school, to_first["id"]).json()
    assert first["status"] == "withdrawn" and first["payload"]["shredded_at"] is not None
    full = world.create(
        shelter,
        world.other_school,
        "plaatsing-opvang",
        ["previous_school", "current_address", "age"],
        requested_level="full",
        reason="De school heeft een plek aangeboden.",
    )
    world.grant_all(full["id"])
    decided = world.read(world.other_school, full["id"]).json()["decision"]
    assert decided["level"] == "full"
    assert decided["fields"] == ["age", "previous_school"]  # never the address under rood
    without_place = world.create(
        shelter,
        world.school,
        "plaatsing-opvang",
        ["previous_school"],
        requested_level="full",
        reason="Graag het hele dossier.",
    )
    assert without_place["decision"]["level"] == "summary"


def test_only_the_offered_school_confirms_a_place(world: World) -> None:
    world.guardians(
        world.shelter, YOUNG, {"relation": "moeder", "gezag": True, "accompanying": True}
    )
    offer = world.create(world.shelter, world.school, "plaatsing-opvang", ["age"])

    by_shelter = world.client.post(
        f"/api/v1/exchanges/{offer['id']}/placement", headers=world.shelter.headers
    )
    warm = world.create(world.kinderopvang, world.school, "warme-overdracht", ["home_language"])
    on_warm = world.client.post(
        f"/api/v1/exchanges/{warm['id']}/placement", headers=world.school.headers
    )

    assert by_shelter.status_code == 403
    assert on_warm.status_code == 409
