"""Parents and children of 12+ in the portal: requests, answers, revocation, history, scope."""

from __future__ import annotations

import json
import re

import httpx

from audit import store
from gateway.consent.models import ConsentStatus
from gateway.exchanges import expiry
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.portal.family import DAAN, MILA, NOOR, ZORG_FIELDS, offer_warm, offer_zorg, parent
from tests.portal.live import LiveGateway, csrf_of, log_in


def waiting_requests(client: httpx.Client) -> list[str]:
    home = client.get("/portaal")
    assert home.status_code == 200
    return re.findall(r'href="/portaal/verzoeken/([0-9a-f-]{36})"', home.text)


def answer(
    client: httpx.Client, consent_id: str, choice: str, fields: list[str] | None = None
) -> httpx.Response:
    page = client.get(f"/portaal/verzoeken/{consent_id}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="explanation_version" value="([0-9a-f]+)"', page.text)
    assert version
    return client.post(
        f"/portaal/verzoeken/{consent_id}",
        data={
            "csrf_token": csrf_of(page.text),
            "explanation_version": version.group(1),
            "answer": choice,
            "fields": fields or [],
        },
    )


def test_a_parent_grants_part_of_a_request_and_the_school_fetches_only_that(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")

    [consent_id] = waiting_requests(fatma)
    page = fatma.get(f"/portaal/verzoeken/{consent_id}").text
    assert world.kinderopvang.id not in page  # names, not ids
    assert "Thuistaal" in page and "60 dagen" in page
    answered = answer(fatma, consent_id, "grant", ["development_summary", "home_language"])

    assert answered.status_code == 200
    assert "toestemming" in answered.text
    [consent] = world.consents(exchange_id)
    assert consent.status == ConsentStatus.ACTIVE
    assert consent.fields == ["development_summary", "home_language"]
    assert consent.answered_via and consent.explanation_version
    assert world.status(world.kinderopvang, exchange_id) == "awaiting_delivery"
    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    fetched = world.fetch(world.school, exchange_id)
    assert set(fetched.json()["fields"]) == {"development_summary", "home_language"}


def test_the_answer_needs_the_forms_csrf_token(live: LiveGateway, world: World) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)

    forged = fatma.post(f"/portaal/verzoeken/{consent_id}", data={"answer": "grant"})

    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert world.consents(exchange_id)[0].status == ConsentStatus.PROPOSED


def test_a_changed_explanation_is_shown_again_before_anything_is_recorded(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)
    page = fatma.get(f"/portaal/verzoeken/{consent_id}").text

    stale = fatma.post(
        f"/portaal/verzoeken/{consent_id}",
        data={"csrf_token": csrf_of(page), "explanation_version": "0" * 32, "answer": "grant"},
    )

    assert stale.status_code == 409
    assert "veranderd" in stale.text
    assert world.consents(exchange_id)[0].status == ConsentStatus.PROPOSED


def test_one_decline_declines_and_revoking_shreds_what_was_not_fetched(
    live: LiveGateway, world: World
) -> None:
    declined_id = offer_warm(world, NOOR, parent("moeder", "fatma"), parent("vader", "pieter"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)
    assert answer(fatma, consent_id, "decline").status_code == 200
    assert world.status(world.kinderopvang, declined_id) == "denied"

    other = offer_warm(
        world, {"bsn": "100000125", "birth_date": "2022-11-02"}, parent("moeder", "fatma")
    )
    [consent_id] = waiting_requests(fatma)
    answer(fatma, consent_id, "grant", ["home_language"])
    world.deliver(world.kinderopvang, other, WARM_PAYLOAD)
    revoke_page = fatma.get(f"/portaal/toestemmingen/{consent_id}/intrekken")
    assert "meteen gewist" in revoke_page.text
    revoked = fatma.post(
        f"/portaal/toestemmingen/{consent_id}/intrekken",
        data={"csrf_token": csrf_of(revoke_page.text)},
    )

    assert revoked.status_code == 200
    assert world.status(world.kinderopvang, other) == "revoked"
    assert world.fetch(world.school, other).status_code in {409, 410}
    assert world.consents(other)[0].revoked_via


def test_another_parent_cannot_open_a_child_or_request_that_is_not_theirs(
    live: LiveGateway, world: World
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)
    child_link = re.search(
        r"/portaal/kinderen/([0-9a-f-]{36})/geschiedenis", fatma.get("/portaal").text
    )
    assert child_link
    sara = log_in(live, "sara")

    for path in (
        f"/portaal/verzoeken/{consent_id}",
        f"/portaal/toestemmingen/{consent_id}/intrekken",
        f"/portaal/kinderen/{child_link.group(1)}/geschiedenis",
    ):
        response = sara.get(path)
        assert response.status_code == 404, path
        assert "Noor" not in response.text and consent_id not in response.text
    assert waiting_requests(sara) == []


def test_a_restricted_parent_sees_nothing(live: LiveGateway, world: World) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"), parent("vader", "ruud", restricted=True))

    ruud = log_in(live, "ruud")

    assert waiting_requests(ruud) == []
    assert "geen kinderen" in ruud.get("/portaal").text


def test_from_12_the_child_co_consents_and_both_answers_are_needed(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_zorg(world, world.school, DAAN, parent("moeder", "els"))
    els, daan = log_in(live, "els"), log_in(live, "daan")

    [for_els] = waiting_requests(els)
    [for_daan] = waiting_requests(daan)
    assert for_els != for_daan
    answer(els, for_els, "grant", ZORG_FIELDS)
    assert world.status(world.school, exchange_id) == "awaiting_consent"
    answer(daan, for_daan, "grant", ZORG_FIELDS)
    assert world.status(world.school, exchange_id) == "awaiting_delivery"
    assert "Uzelf (13 jaar)" in daan.get("/portaal").text


def test_from_16_the_child_decides_alone_and_the_parent_no_longer_sees_requests(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_zorg(world, world.school, MILA, parent("moeder", "els"))
    els, mila = log_in(live, "els"), log_in(live, "mila")

    assert waiting_requests(els) == []
    assert "beslist zelf" in els.get("/portaal").text
    [for_mila] = waiting_requests(mila)
    answer(mila, for_mila, "grant", ZORG_FIELDS)
    assert world.status(world.school, exchange_id) == "awaiting_delivery"


def test_the_history_shows_who_received_what_and_marks_legal_duty_as_informed(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)
    answer(fatma, consent_id, "grant", ["home_language"])
    world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD)
    world.fetch(world.school, exchange_id)
    signal = world.create(
        world.school,
        world.leerplicht,
        "verzuimmelding",
        ["absence_period", "school", "signal_type"],
        child=NOOR,
    )
    world.deliver(
        world.school,
        signal["id"],
        {"absence_period": {"from": "2026-10-05", "unexcused_hours": 18}, "signal_type": "absence"},
    )
    world.fetch(world.leerplicht, signal["id"])
    home = fatma.get("/portaal").text
    link = re.search(r"/portaal/kinderen/[0-9a-f-]{36}/geschiedenis", home)
    assert link

    history = fatma.get(link.group(0)).text

    assert "heeft gegevens ontvangen" in history
    # which role at which organisation read it, as the school's and the office's staff are
    assert "heeft gegevens ontvangen, door een intern begeleider" in history
    assert "door een leerplichtambtenaar" in history
    assert "Thuistaal" in history
    assert "u heeft bericht gekregen" in history
    assert "Nederlands en Arabisch" not in history  # names of fields, never values
    world.session.expire_all()
    reads = [json.loads(leaf) for _, leaf, _ in store.iter_leaves(world.session)]
    assert any(e["action"] == "audit.read" and e["actor"]["role"] == "citizen" for e in reads)


def test_an_expired_consent_leaves_the_list_and_its_copy_is_shredded(
    live: LiveGateway, world: World
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")
    [consent_id] = waiting_requests(fatma)
    answer(fatma, consent_id, "grant", ["home_language"])
    world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD)
    assert f"/portaal/toestemmingen/{consent_id}/intrekken" in fatma.get("/portaal").text

    world.travel(61)
    expiry.expire_due(world.exchanges, world.session)

    home = fatma.get("/portaal").text
    assert f"/portaal/toestemmingen/{consent_id}/intrekken" not in home
    assert "geen toestemmingen die nu gelden" in home
    assert world.consents(exchange_id)[0].status == ConsentStatus.EXPIRED
    assert world.status(world.kinderopvang, exchange_id) == "expired"
