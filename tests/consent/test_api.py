"""GET /api/v1/consents/{id}: for the organisations involved, as a record or as FHIR R5."""

from __future__ import annotations

from gateway.consent.service import Provenance
from gateway.exchanges import consent_answers
from tests.exchanges.world import YOUNG, World


def granted(world: World) -> tuple[str, str]:
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    offer = world.create(
        world.kinderopvang,
        world.school,
        "warme-overdracht",
        ["home_language", "development_summary"],
    )
    [consent] = world.consents(offer["id"])
    consent_answers.answer_consent(
        world.exchanges,
        world.session,
        consent.id,
        consent.holder,
        grant=True,
        fields=["home_language"],
        provenance=Provenance("login-ref-1", "explanation-v1"),
    )
    return offer["id"], consent.id


def test_the_recipient_and_the_source_read_the_consent_record(world: World) -> None:
    exchange_id, consent_id = granted(world)

    for party in (world.school, world.kinderopvang):
        response = world.client.get(f"/api/v1/consents/{consent_id}", headers=party.headers)
        assert response.status_code == 200, response.text
        record = response.json()
        assert record["status"] == "active"
        assert record["fields"] == ["home_language"]
        assert record["grantee_id"] == world.school.id
        assert record["source_id"] == world.kinderopvang.id
        assert record["exchange_id"] == exchange_id
        assert record["provenance"]["login"] == "login-ref-1"
        assert record["provenance"]["explanation_version"] == "explanation-v1"
        assert record["period"]["start"] and record["period"]["end"]
        assert "bsn" not in response.text and YOUNG["bsn"] not in response.text


def test_any_other_organisation_gets_404(world: World) -> None:
    _, consent_id = granted(world)

    response = world.client.get(f"/api/v1/consents/{consent_id}", headers=world.stranger.headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_fhir_view_is_an_r5_consent(world: World) -> None:
    exchange_id, consent_id = granted(world)
    holder = world.consents(exchange_id)[0].holder
    consent_answers.revoke_consent(world.exchanges, world.session, consent_id, holder)

    response = world.client.get(
        f"/api/v1/consents/{consent_id}", params={"format": "fhir"}, headers=world.school.headers
    )

    assert response.headers["content-type"].startswith("application/fhir+json")
    resource = response.json()
    assert resource["resourceType"] == "Consent"
    assert resource["status"] == "inactive"  # revoked
    assert resource["decision"] == "permit"
    assert resource["grantee"][0]["identifier"]["value"] == world.school.id
    assert resource["controller"][0]["identifier"]["value"] == world.kinderopvang.id
    provision = resource["provision"][0]
    assert provision["purpose"][0]["code"] == "warme-overdracht"
    assert [c["coding"][0]["code"] for c in provision["code"]] == ["home_language"]
    assert resource["policyBasis"]["url"].startswith("urn:kindkoppeling:verwerking:")
    urls = {e["url"] for e in resource["extension"]}
    assert {
        "urn:kindkoppeling:fhir:explanation-version",
        "urn:kindkoppeling:fhir:revoked-at",
    } <= urls
