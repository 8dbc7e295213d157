"""Certificate-bound tokens (RFC 8705) over real mutual TLS on loopback: ``gateway serve``
terminating TLS with a PKIoverheid-like chain whose client certificates carry the OIN in the
subject's serialNumber, and self-signed certificates registered by thumbprint."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.auth.assertions import token_request_form
from gateway.auth.certificates import thumbprint
from gateway.keys import load_keys
from gateway.organisations import certificates, service
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import (
    TEST_ACTOR,
    access_token,
    bearer,
    forged_jwt,
    register,
    within_registry_bound,
)
from tests.mtls import MutualTLSGateway, serving_mutual_tls
from tests.pki import Pki, self_signed

SCHOOL_OIN = "00000001001234567000"
ME = "/api/v1/organisations/me"
EXCHANGES = "/api/v1/exchanges"
# With TLS 1.3 the client finishes its handshake before the server has checked its certificate;
# the refusal then arrives as the connection closing.
REFUSED_IN_HANDSHAKE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)


@pytest.fixture
def gateway(settings: Settings, tmp_path: Path) -> Iterator[MutualTLSGateway]:
    with serving_mutual_tls(settings, tmp_path) as running:
        yield running


def claims_of(token: str) -> dict[str, object]:
    """The claims of a token the gateway issued (read, not verified)."""
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_a_token_bound_to_certificate_a_works_only_over_certificate_a(
    gateway: MutualTLSGateway, session: Session
) -> None:
    school = register(session, token_url=gateway.settings.token_url)
    certificate_a = gateway.enrol(session, school.organisation_id, SCHOOL_OIN, "De Regenboog")
    certificate_b = gateway.pki.client(SCHOOL_OIN, "De Regenboog", "Tweede koppeling")

    issued = gateway.token(school, certificate_a)
    own = gateway.token(school, certificate_a, staff=False)

    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    claims = claims_of(token)
    assert claims["cnf"] == {"x5t#S256": thumbprint(certificate_a.certificate)}
    assert claims["sub"] == school.staff_id and own.status_code == 200
    with gateway.client(certificate_a) as over_a:
        assert over_a.get(ME, headers=bearer(token)).status_code == 200
        assert over_a.get(EXCHANGES, headers=bearer(token)).status_code == 200
    # B carries the same OIN and chains to the same CA: it may get its own token, not use A's.
    with gateway.client(certificate_b) as over_b:
        refused = over_b.get(ME, headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["type"] == "urn:kindkoppeling:problem:invalid-token"
        assert "certificate" in refused.json()["detail"]
    with gateway.client() as plain_tls:
        assert plain_tls.get(ME, headers=bearer(token)).status_code == 401
    assert gateway.token(school, certificate_b).status_code == 200


def test_private_key_jwt_over_mutual_tls_binds_the_token_too(
    gateway: MutualTLSGateway, session: Session
) -> None:
    school = register(session, token_url=gateway.settings.token_url)
    unregistered = gateway.pki.client("00000001009999999000", "Elders")

    with gateway.client(unregistered) as client:
        issued = client.post("/oauth/token", data=school.staff_form())
        token = issued.json()["access_token"]
        assert client.get(EXCHANGES, headers=bearer(token)).status_code == 200
    with gateway.client() as plain_tls:
        unbound = plain_tls.post("/oauth/token", data=school.staff_form()).json()
        assert plain_tls.get(EXCHANGES, headers=bearer(token)).status_code == 401

    assert claims_of(token)["cnf"] == {"x5t#S256": thumbprint(unregistered.certificate)}
    assert "cnf" not in claims_of(unbound["access_token"])  # no certificate, nothing to bind


def test_a_certificate_authenticates_only_the_organisation_it_is_registered_for(
    gateway: MutualTLSGateway, session: Session
) -> None:
    school = register(session, token_url=gateway.settings.token_url)
    other = register(session, token_url=gateway.settings.token_url)
    registered = gateway.enrol(session, school.organisation_id, SCHOOL_OIN, "De Regenboog")
    other_oin = gateway.pki.client("00000001005555555000", "Basisschool De Regenboog")
    foreign = Pki.make("Een andere root").client(SCHOOL_OIN, "Basisschool De Regenboog")

    as_other = gateway.token(other, registered)
    wrong_oin = gateway.token(school, other_oin)

    for refused in (as_other, wrong_oin):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_client"
    assert gateway.token(school, registered).status_code == 200  # the control
    # Without a key the certificate still gets the organisation its own token, but a staff
    # member's needs a subject token signed with a registered key.
    service.remove_key(session, school.organisation_id, str(school.key.kid), actor=TEST_ACTOR)
    keyless = within_registry_bound(  # removed in this process, the gateway serves in its own
        lambda: gateway.token(school, registered), lambda answer: answer.status_code != 200
    )
    assert keyless.status_code == 400 and keyless.json()["error"] == "invalid_request"
    assert gateway.token(school, registered, staff=False).status_code == 200
    certificates.remove_certificate(
        session, school.organisation_id, thumbprint(registered.certificate), actor=TEST_ACTOR
    )
    removed = within_registry_bound(
        lambda: gateway.token(school, registered, staff=False), lambda a: a.status_code != 200
    )
    assert removed.status_code == 401
    with pytest.raises(REFUSED_IN_HANDSHAKE):  # a chain to no trusted root fails the handshake
        gateway.token(school, foreign)


def test_self_signed_certificates_registered_by_thumbprint(
    gateway: MutualTLSGateway, session: Session, settings: Settings
) -> None:
    operator = register(session, OrganisationRole.GATEWAY, token_url=settings.token_url)
    school = register(session, token_url=settings.token_url)
    mine = self_signed("LVS koppeling", "Basisschool De Regenboog")
    later = self_signed("Tweede koppeling", "Basisschool De Regenboog")
    stranger = self_signed("LVS koppeling", "Basisschool De Regenboog")

    with gateway.client() as plain_tls:
        issued_to_operator = plain_tls.post(
            "/oauth/token", data=token_request_form(operator.assertion())
        )
        admin = bearer(issued_to_operator.json()["access_token"])
        added = plain_tls.post(
            f"/api/v1/organisations/{school.organisation_id}/certificates",
            json={"certificate": mine.pem},
            headers=admin,
        )
    issued = gateway.token(school, mine)
    # Registered through another process: the handshake trusts it from the next refresh.
    certificates.add_certificate(
        session, school.organisation_id, later.pem, actor=TEST_ACTOR, ca_bundle=None
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            gateway.token(school, later)
            break
        except REFUSED_IN_HANDSHAKE:
            assert time.monotonic() < deadline, "the refresh never trusted the certificate"
            time.sleep(0.3)
    later_token = within_registry_bound(  # and its token endpoint, from its registry's copies
        lambda: gateway.token(school, later), lambda answer: answer.status_code == 200
    )

    assert added.status_code == 201, added.text
    assert added.json()["method"] == "self_signed_tls_client_auth"
    assert added.json()["thumbprint"] == thumbprint(mine.certificate)
    assert issued.status_code == 200, issued.text
    assert claims_of(issued.json()["access_token"])["cnf"] == {
        "x5t#S256": thumbprint(mine.certificate)
    }
    assert later_token.status_code == 200
    with pytest.raises(REFUSED_IN_HANDSHAKE):  # unregistered: refused in the handshake
        gateway.token(school, stranger)


def test_a_bound_token_still_needs_its_signature_audience_and_lifetime(
    gateway: MutualTLSGateway, session: Session, settings: Settings
) -> None:
    school = register(session, token_url=settings.token_url)
    certificate = gateway.enrol(session, school.organisation_id, SCHOOL_OIN, "De Regenboog")
    key = load_keys(settings).token_signing_key
    now = int(time.time())
    good = {
        "iss": settings.issuer,
        "aud": settings.api_audience,
        "sub": school.organisation_id,
        "client_id": school.organisation_id,
        "role": "school",
        "scope": "exchange",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "cnf": {"x5t#S256": thumbprint(certificate.certificate)},
    }
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}

    def signed(**changes: object) -> str:
        return jwt.encode(header, {**good, **changes}, key)

    forged = {
        "another audience": signed(aud="https://elders.example/api"),
        "expired": signed(exp=now - 120, iat=now - 400, nbf=now - 400),
        "another issuer": signed(iss="https://elders.example"),
        "alg none": forged_jwt({"alg": "none", "typ": "at+jwt"}, signed().split(".")[1]),
    }
    with gateway.client(certificate) as client:
        assert client.get(ME, headers=bearer(signed())).status_code == 200  # the control
        for reason, token in forged.items():
            assert client.get(ME, headers=bearer(token)).status_code == 401, reason


@pytest.fixture
def behind_proxy(settings: Settings) -> Iterator[TestClient]:
    """The gateway behind a reverse proxy that passes the client certificate in a header."""
    proxied = settings.model_copy(update={"tls_client_cert_header": "X-Client-Cert"})
    with TestClient(create_app(proxied), base_url=PUBLIC_URL) as client:
        yield client


def test_behind_a_proxy_the_configured_header_is_the_certificate(
    behind_proxy: TestClient, client: TestClient, session: Session
) -> None:
    school = register(session)
    pki = Pki.make()
    certificate = pki.client(SCHOOL_OIN, "Basisschool De Regenboog")
    passed = {"X-Client-Cert": quote(certificate.pem)}
    other = {"X-Client-Cert": quote(pki.client(SCHOOL_OIN, "Elders").pem)}

    bound = behind_proxy.post("/oauth/token", data=school.staff_form(), headers=passed).json()
    token = bearer(bound["access_token"])
    # Without the setting the header is nobody's certificate: the token is not bound.
    unbound = client.post("/oauth/token", data=school.staff_form(), headers=passed).json()

    assert claims_of(bound["access_token"])["cnf"] == {
        "x5t#S256": thumbprint(certificate.certificate)
    }
    assert behind_proxy.get(ME, headers={**token, **passed}).status_code == 200
    assert behind_proxy.get(ME, headers={**token, **other}).status_code == 401
    assert behind_proxy.get(ME, headers=token).status_code == 401
    assert "cnf" not in claims_of(unbound["access_token"])


def test_certificates_that_cannot_be_registered_are_refused_with_a_reason(
    client: TestClient, session: Session, admin: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    school = register(session)
    other = register(session)
    pki = Pki.make()
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(pki.bundle())
    with TestClient(
        create_app(settings.model_copy(update={"tls_client_ca_file": bundle})),
        base_url=PUBLIC_URL,
    ) as with_bundle:
        path = f"/api/v1/organisations/{school.organisation_id}/certificates"
        certificate = pki.client(SCHOOL_OIN, "Basisschool De Regenboog")

        def add(pem: str, organisation: str = school.organisation_id) -> httpx.Response:
            return with_bundle.post(
                f"/api/v1/organisations/{organisation}/certificates",
                json={"certificate": pem},
                headers=admin,
            )

        not_pem = add("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        untrusted = add(Pki.make("Onbekend").client(SCHOOL_OIN, "X").pem)
        first = add(certificate.pem)
        again = add(certificate.pem)
        same_oin_elsewhere = add(
            pki.client(SCHOOL_OIN, "Basisschool De Regenboog", "Tweede").pem, other.organisation_id
        )
        removed = with_bundle.delete(f"{path}/{first.json()['thumbprint']}", headers=admin)
        removed_again = with_bundle.delete(f"{path}/{first.json()['thumbprint']}", headers=admin)
        school_token = bearer(access_token(with_bundle, school))
        by_school = with_bundle.post(
            path, json={"certificate": certificate.pem}, headers=school_token
        )
        listed = with_bundle.get(f"/api/v1/organisations/{school.organisation_id}", headers=admin)

    for refused in (not_pem, untrusted):
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "#/certificate"
    assert first.status_code == 201 and first.json()["oin"] == SCHOOL_OIN
    assert again.status_code == 409 and same_oin_elsewhere.status_code == 409
    assert by_school.status_code == 403
    assert removed.status_code == 204 and removed_again.status_code == 404
    assert listed.json()["certificates"] == []
