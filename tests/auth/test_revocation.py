"""Revoked client certificates (RFC 5280 CRLs, RFC 6960 OCSP): the test PKI's CA publishes its
CRL and answers OCSP on loopback; the gateway sits behind a proxy that passes the client
certificate in a header, so the test presents any certificate it likes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.auth.certificates import CertificateError
from gateway.auth.revocation import Revocation
from gateway.organisations import certificates
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import TEST_ACTOR, RegisteredClient, bearer, register
from tests.pki import Issued, Pki
from tests.publishing_ca import PublishingCa, publishing

ME = "/api/v1/organisations/me"
HEADER = "X-Client-Cert"


@pytest.fixture
def ca() -> Iterator[PublishingCa]:
    with publishing(Pki.make()) as running:
        yield running


@contextmanager
def gateway(
    settings: Settings, ca: PublishingCa, tmp_path: Path, **changes: Any
) -> Iterator[TestClient]:
    bundle = tmp_path / "client-ca.pem"
    bundle.write_text(ca.pki.bundle())
    configured = settings.model_copy(
        update={"tls_client_cert_header": HEADER, "tls_client_ca_file": bundle, **changes}
    )
    with TestClient(create_app(configured), base_url=PUBLIC_URL) as client:
        yield client


class Holder:
    """An organisation with a registered certificate from the publishing CA."""

    def __init__(
        self,
        session: Session,
        client: TestClient,
        ca: PublishingCa,
        oin: str,
        *,
        ocsp: bool = False,
    ) -> None:
        self.client = client
        self.registered: RegisteredClient = register(session)
        self.certificate: Issued = ca.client(oin, "Basisschool De Regenboog", ocsp=ocsp)
        bundle = client.app.state.settings.tls_client_ca_file
        certificates.add_certificate(
            session,
            self.registered.organisation_id,
            self.certificate.pem,
            actor=TEST_ACTOR,
            ca_bundle=bundle,
        )
        self.presented = {HEADER: quote(self.certificate.pem)}

    def token(self) -> httpx.Response:
        """tls_client_auth: the certificate authenticates the organisation (RFC 8705 §2.1)."""
        form = self.registered.staff_form()
        for name in ("client_assertion", "client_assertion_type"):
            del form[name]
        form["client_id"] = self.registered.organisation_id
        return self.client.post("/oauth/token", data=form, headers=self.presented)

    def call(self, token: str) -> httpx.Response:
        return self.client.get(ME, headers={**bearer(token), **self.presented})


def issued_token(holder: Holder) -> str:
    response = holder.token()
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def wait_for_status(holder: Holder, token: str, status: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while (answered := holder.call(token).status_code) != status:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return answered


def test_a_revoked_certificate_gets_no_token_and_its_tokens_stop_within_one_refresh(
    settings: Settings, session: Session, ca: PublishingCa, tmp_path: Path
) -> None:
    with gateway(settings, ca, tmp_path, tls_revocation_refresh=1) as client:
        stolen = Holder(session, client, ca, "00000001001234567000")
        other = Holder(session, client, ca, "00000001007654321000")
        token, others = issued_token(stolen), issued_token(other)
        assert stolen.call(token).status_code == 200

        ca.revoke(stolen.certificate)  # its holder reported it stolen

        assert wait_for_status(stolen, token, 401) == 401  # the background refresh saw it
        refused = stolen.token()
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"
        assert other.call(others).status_code == 200  # the CA's other certificates are fine
        assert issued_token(other)


def test_an_unreachable_crl_is_bridged_until_next_update_then_the_ca_fails_closed(
    settings: Settings, session: Session, ca: PublishingCa, tmp_path: Path
) -> None:
    ca.crl_valid_for = timedelta(seconds=2)
    with gateway(settings, ca, tmp_path, tls_crl_grace=0, tls_revocation_refresh=3600) as client:
        holder = Holder(session, client, ca, "00000001001234567000")
        token = issued_token(holder)
        ca.reachable = False

        before = holder.call(token)  # the CRL fetched for the token is current
        after = wait_for_status(holder, token, 401)  # past its nextUpdate, none to be had
        new_token = holder.token()
        ready = client.get("/health/ready")
        metrics = client.get("/metrics")

    assert before.status_code == 200
    assert after == 401
    assert new_token.status_code == 401
    assert ready.status_code == 200  # every other client still works
    ca_name = ca.pki.organisation_ca.certificate.subject.rfc4514_string()
    assert ready.json()["revocation"] == f"stale CRL of {ca_name}: their certificates are refused"
    assert f'kindkoppeling_client_ca_crl_stale{{ca="{ca_name}"}} 1.0' in metrics.text


def test_soft_fail_lets_a_stale_cas_certificates_through_and_says_so(
    settings: Settings, session: Session, ca: PublishingCa, tmp_path: Path
) -> None:
    ca.crl_valid_for = timedelta(seconds=-60)  # published already stale
    with gateway(settings, ca, tmp_path, tls_crl_grace=0, tls_revocation_soft_fail=True) as client:
        holder = Holder(session, client, ca, "00000001001234567000")
        token = issued_token(holder)
        answered = holder.call(token)
        ready = client.get("/health/ready").json()

    assert answered.status_code == 200
    assert ready["revocation"].endswith("let through (soft fail)")


@pytest.mark.parametrize("delegated", [False, True], ids=["signed-by-ca", "delegated-responder"])
def test_ocsp_good_is_let_in_and_revoked_and_unknown_are_refused(
    settings: Settings, session: Session, ca: PublishingCa, tmp_path: Path, delegated: bool
) -> None:
    if delegated:
        ca.delegated = ca.pki.ocsp_responder()
    with gateway(settings, ca, tmp_path, tls_ocsp=True) as client:
        good = Holder(session, client, ca, "00000001001111111000", ocsp=True)
        revoked = Holder(session, client, ca, "00000001002222222000", ocsp=True)
        unknown = Holder(session, client, ca, "00000001003333333000", ocsp=True)
        ca.revoke(revoked.certificate)
        ca.unknown.add(unknown.certificate.certificate.serial_number)

        assert good.call(issued_token(good)).status_code == 200
        assert revoked.token().status_code == 401
        assert unknown.token().status_code == 401
    assert ca.crl_fetches == 0  # the responder answered; no CRL was needed


def test_an_ocsp_answer_not_signed_for_the_ca_is_not_believed(
    settings: Settings, session: Session, ca: PublishingCa, tmp_path: Path
) -> None:
    # A responder certificate of another PKI says "good" about a certificate the CA revoked.
    ca.delegated = Pki.make("Een andere root").ocsp_responder()
    ca.forged_good = True
    with gateway(settings, ca, tmp_path, tls_ocsp=True) as client:
        holder = Holder(session, client, ca, "00000001001234567000", ocsp=True)
        ca.revoke(holder.certificate)

        assert holder.token().status_code == 401
    assert ca.crl_fetches >= 1


def test_the_refresh_asks_the_responder_again_so_a_request_does_not_wait_for_it(
    ca: PublishingCa, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(ca.pki.bundle())
    revocation = Revocation(bundle, grace=timedelta(0), use_ocsp=True)
    issued = ca.client("00000001001234567000", "Basisschool De Regenboog", ocsp=True)

    revocation.check(issued.certificate)  # the first check asks
    asked_first = ca.ocsp_requests
    revocation.refresh()  # in the background
    asked_by_refresh = ca.ocsp_requests - asked_first
    revocation.check(issued.certificate)
    asked_by_check = ca.ocsp_requests - asked_first - asked_by_refresh
    ca.revoke(issued)
    revocation.refresh()
    with pytest.raises(CertificateError, match="revoked"):
        revocation.check(issued.certificate)

    assert asked_first == 1
    assert asked_by_refresh == 1
    assert asked_by_check == 0  # the refreshed answer served it
    assert ca.ocsp_requests == 3  # the revocation was learnt by the refresh, not the check
