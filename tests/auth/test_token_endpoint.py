"""The token endpoint: client credentials with private_key_jwt (RFC 7523), and access tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx2
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.auth.access_tokens import LEEWAY_SECONDS
from gateway.auth.assertions import token_request_form
from gateway.auth.models import UsedClientAssertion
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import OrganisationStatus
from tests.factories import (
    TEST_ACTOR,
    access_token,
    bearer,
    forged_jwt,
    register,
    request_token,
)

PROBLEM = "application/problem+json"


def assert_invalid_client(response, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["type"] == "urn:kindkoppeling:problem:oauth:invalid_client"
    assert fragment.lower() in body["detail"].lower()
    assert "access_token" not in body


def test_valid_private_key_jwt_obtains_a_token_that_reaches_me(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)

    response = request_token(client, school)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "exchange"
    assert 0 < body["expires_in"] <= 300
    me = client.get("/api/v1/organisations/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == school.organisation_id
    assert me.json()["role"] == "school"


def test_access_token_is_an_rfc9068_jwt_verifiable_with_the_published_jwks(
    client: TestClient, session: Session
) -> None:
    school = register(session)
    token = access_token(client, school, own=True)

    keys = client.get("/.well-known/jwks.json").json()
    verified = jwt.decode(token, ECKey.import_key(keys["keys"][0]), algorithms=["ES256"])

    assert verified.header["typ"] == "at+jwt"
    assert verified.claims["sub"] == school.organisation_id
    assert verified.claims["client_id"] == school.organisation_id
    assert verified.claims["role"] == "school"
    assert verified.claims["aud"] == "http://127.0.0.1:8000/api"
    assert verified.claims["exp"] - verified.claims["iat"] == 300


def test_rsa_client_keys_are_accepted(client: TestClient, session: Session) -> None:
    rsa = register(session, OrganisationRole.SWV, key=RSAKey.generate_key(2048, private=True))

    assert request_token(client, rsa).status_code == 200


def test_assertion_signed_with_an_unregistered_key_is_refused(
    client: TestClient, session: Session
) -> None:
    school = register(session)
    intruder_key = ECKey.generate_key("P-256", private=True)
    intruder_key.ensure_kid()
    school.key = intruder_key

    assert_invalid_client(request_token(client, school), "signature")


def test_assertion_signed_with_another_organisations_key_is_refused(
    client: TestClient, session: Session
) -> None:
    school = register(session)
    other = register(session, OrganisationRole.OPVANG)
    school.key = other.key  # signs as the school with the opvang's key

    assert_invalid_client(request_token(client, school), "signature")


def test_expired_assertion_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    past = int(time.time()) - 600

    response = request_token(client, school, claims={"iat": past - 60, "exp": past})

    assert_invalid_client(response, "exp")


def test_assertion_that_lives_too_long_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)

    response = request_token(client, school, claims={"exp": int(time.time()) + 24 * 3600})

    assert_invalid_client(response, "lives too long")


def test_alg_none_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    unsigned = forged_jwt({"alg": "none", "typ": "JWT"}, school.assertion().split(".")[1])

    response = client.post("/oauth/token", data=token_request_form(unsigned))

    assert_invalid_client(response, "signature")


def test_hs256_signed_with_the_public_key_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    forged = forged_jwt(
        {"alg": "HS256", "kid": school.key.kid},
        school.assertion().split(".")[1],
        hmac_key=school.key.as_pem(private=False),
    )

    response = client.post("/oauth/token", data=token_request_form(forged))

    assert_invalid_client(response, "signature")


def test_replayed_jti_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    assertion = school.assertion()

    first = client.post("/oauth/token", data=token_request_form(assertion))
    replay = client.post("/oauth/token", data=token_request_form(assertion))

    assert first.status_code == 200
    assert_invalid_client(replay, "used before")


def test_same_jti_from_two_clients_is_not_a_replay(client: TestClient, session: Session) -> None:
    school, opvang = register(session), register(session, OrganisationRole.OPVANG)

    assert request_token(client, school, claims={"jti": "same"}).status_code == 200
    assert request_token(client, opvang, claims={"jti": "same"}).status_code == 200


def test_expired_jti_records_are_purged(client: TestClient, session: Session) -> None:
    school = register(session)
    session.add(
        UsedClientAssertion(
            client_id=school.organisation_id,
            jti="old",
            expires_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
    )
    session.commit()

    assert request_token(client, school).status_code == 200

    session.expire_all()
    assert session.scalar(select(func.count()).select_from(UsedClientAssertion)) == 1


@pytest.mark.parametrize(
    "audience", ["http://127.0.0.1:8000/other", "https://evil.example/oauth/token"]
)
def test_wrong_audience_is_refused(client: TestClient, session: Session, audience: str) -> None:
    school = register(session)

    assert_invalid_client(request_token(client, school, claims={"aud": audience}), "aud")


def test_issuer_identifier_is_accepted_as_audience(client: TestClient, session: Session) -> None:
    school = register(session)

    assert request_token(client, school, claims={"aud": "http://127.0.0.1:8000"}).status_code == 200


def test_issuer_must_equal_subject(client: TestClient, session: Session) -> None:
    school, other = register(session), register(session)

    response = request_token(client, school, claims={"iss": other.organisation_id})

    assert_invalid_client(response, "issuer and subject")


@pytest.mark.parametrize(("claim", "named"), [("exp", "exp"), ("jti", "jwt id"), ("aud", "aud")])
def test_assertion_without_a_required_claim_is_refused(
    client: TestClient, session: Session, claim: str, named: str
) -> None:
    school = register(session)

    assert_invalid_client(request_token(client, school, claims={claim: None}), named)


def test_unknown_client_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    response = request_token(client, school, claims={"iss": "not-a-client", "sub": "not-a-client"})

    assert_invalid_client(response, "does not exist")


def test_suspended_organisation_gets_no_token(client: TestClient, session: Session) -> None:
    school = register(session)
    service.set_status(
        session, school.organisation_id, OrganisationStatus.SUSPENDED, actor=TEST_ACTOR
    )

    response = request_token(client, school)

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert "suspended" in response.json()["detail"]


def test_suspension_stops_live_tokens(client: TestClient, session: Session) -> None:
    school = register(session)
    token = access_token(client, school)
    assert client.get("/api/v1/organisations/me", headers=bearer(token)).status_code == 200

    service.set_status(
        session, school.organisation_id, OrganisationStatus.SUSPENDED, actor=TEST_ACTOR
    )
    refused = client.get("/api/v1/organisations/me", headers=bearer(token))

    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert "suspended" in refused.json()["detail"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_token_that_worked_is_refused_once_it_expires(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = access_token(client, register(session))
    assert client.get("/api/v1/organisations/me", headers=bearer(token)).status_code == 200

    lifetime = client.app.state.settings.access_token_lifetime  # type: ignore[attr-defined]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + lifetime + LEEWAY_SECONDS + 5)
    refused = client.get("/api/v1/organisations/me", headers=bearer(token))

    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_scope_escalation_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)

    response = request_token(client, school, scope="exchange admin")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_unknown_grant_type_is_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    form = token_request_form(school.assertion()) | {"grant_type": "password"}

    response = client.post("/oauth/token", data=form)

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.headers["content-type"] == PROBLEM


def post_form(client: TestClient, body: str | bytes) -> httpx2.Response:
    """A token request whose form body is written by hand, as a broken client would."""
    return client.post(
        "/oauth/token", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )


def test_repeated_parameters_are_refused(client: TestClient, session: Session) -> None:
    school = register(session)
    body = "grant_type=client_credentials&grant_type=client_credentials&client_assertion=" + (
        school.assertion()
    )

    response = post_form(client, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_request_must_be_form_encoded(client: TestClient) -> None:
    response = client.post("/oauth/token", json={"grant_type": "client_credentials"})

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["error"] == "invalid_request"


def test_token_request_with_invalid_utf8_is_refused(client: TestClient) -> None:
    response = post_form(client, b"grant_type=\xff\xfe")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


class TestClientSecretBasic:
    @staticmethod
    def basic_token_request(client: TestClient, session: Session, secret: str) -> httpx2.Response:
        school = register(session)
        service.set_client_secret(
            session, school.organisation_id, "s3cret-for-dev", actor=TEST_ACTOR
        )
        return client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(school.organisation_id, secret),
        )

    def test_accepted_in_dev(self, client: TestClient, session: Session) -> None:
        response = self.basic_token_request(client, session, "s3cret-for-dev")

        assert response.status_code == 200, response.text

    def test_wrong_secret_is_refused(self, client: TestClient, session: Session) -> None:
        response = self.basic_token_request(client, session, "wrong")

        assert response.status_code == 401

    def test_refused_in_production(
        self,
        client: TestClient,
        session: Session,
        settings,
        monkeypatch,  # type: ignore[no-untyped-def]
    ) -> None:
        school = register(session)
        service.set_client_secret(
            session, school.organisation_id, "s3cret-for-dev", actor=TEST_ACTOR
        )
        production = settings.model_copy(update={"environment": "production"})
        monkeypatch.setattr(client.app.state, "settings", production)  # type: ignore[attr-defined]

        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(school.organisation_id, "s3cret-for-dev"),
        )

        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "claims", [{"sub": "\x00", "iss": "\x00"}, {"jti": "\x00bad"}, {"jti": 42}]
)
def test_hostile_claim_values_are_refused_not_errors(
    client: TestClient, session: Session, claims: dict[str, object]
) -> None:
    school = register(session)

    response = request_token(client, school, claims=claims)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("name", ['a"b', "a\\b", "a\nb", "é", "x" * 65])
def test_a_repeated_parameter_with_an_odd_name_is_refused_without_echoing_it(
    client: TestClient, name: str
) -> None:
    body = urlencode([(name, "1"), (name, "2"), ("grant_type", "client_credentials")])

    response = post_form(client, body)

    assert response.status_code == 400
    assert response.json()["error_description"] == "A parameter is repeated."
