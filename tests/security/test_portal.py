"""The portal against the browser-side attacks: forged forms (CSRF), a planted session
(fixation), login redirects to elsewhere (open redirect), and the headers that stop framing,
sniffing and injected scripts."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.exchanges.world import World
from tests.portal.family import NOOR, offer_warm, parent
from tests.portal.live import LiveGateway, browser, choose_person, csrf_of, log_in
from tests.tally import TALLY


def test_forms_without_this_sessions_token_are_refused(live: LiveGateway, world: World) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    consent_id = world.consents(exchange_id)[0].id
    fatma, mallory = log_in(live, "fatma"), log_in(live, "karin")
    form_url = f"/portaal/verzoeken/{consent_id}"
    page = fatma.get(form_url)
    assert page.status_code == 200
    forged_tokens = {
        "no token": {},
        "empty token": {"csrf_token": ""},
        "made-up token": {"csrf_token": "0" * 43},
        "another session's token": {"csrf_token": csrf_of(mallory.get("/portaal").text)},
    }
    for name, token in forged_tokens.items():
        response = fatma.post(form_url, data={**token, "answer": "grant"})
        TALLY["abuse_requests"] += 1
        assert response.status_code == 403, name
    # Nothing was answered: the request still waits.
    assert world.consents(exchange_id)[0].status == "proposed"
    # A cross-site form post carries no session cookie at all (SameSite=Lax): a login page.
    anonymous = browser(live).post(form_url, data={"answer": "grant"}, follow_redirects=False)
    assert anonymous.status_code in {303, 403}


def test_a_planted_session_cookie_does_not_become_the_victims_session(
    live: LiveGateway,
) -> None:
    attacker = browser(live)
    attacker.get("/portaal/inloggen")
    planted = attacker.cookies.get("kk_session")
    assert planted

    victim = browser(live)
    victim.cookies.set("kk_session", planted, domain="127.0.0.1", path="/")
    page = victim.get("/portaal/inloggen")
    home = choose_person(victim, page, "fatma")
    assert home.url.path == "/portaal"
    assert victim.cookies.get("kk_session") != planted

    # The attacker's copy is still just an anonymous session.
    attacker_view = attacker.get("/portaal", follow_redirects=False)
    assert attacker_view.status_code == 303
    assert "/portaal/inloggen" in attacker_view.headers["location"]
    TALLY["abuse_requests"] += 1


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "/%2F%2Fevil.example",
        " //evil.example",
    ],
)
def test_login_only_ever_returns_to_this_site(live: LiveGateway, target: str) -> None:
    client = browser(live)
    page = client.get("/portaal/inloggen", params={"next": target})
    landed = choose_person(client, page, "fatma")
    TALLY["abuse_requests"] += 1
    assert landed.url.host == "127.0.0.1"
    assert landed.url.port == int(live.url.rsplit(":", 1)[1])
    for response in landed.history:
        location = response.headers.get("location", "")
        assert httpx.URL(location).host in {"", "127.0.0.1"}, location


def test_portal_pages_forbid_scripts_framing_and_sniffing(live: LiveGateway) -> None:
    page = log_in(live, "fatma").get("/portaal")
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to 'none'
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script" not in page.text.lower()
    assert "strict-transport-security" not in page.headers  # plain http in tests


def test_portal_forms_may_lead_only_here_and_to_the_login_provider(settings: Settings) -> None:
    # Logging out posts a form whose answer redirects to the provider's end-session page, and
    # browsers hold that redirect to form-action: the provider's origin, and nothing else.
    issuer = "https://login.example.nl/oidc"
    broker = settings.model_copy(
        update={"oidc_issuer": issuer, "oidc_client_secret": SecretStr("s")}
    )
    for configured, allowed in ((settings, "'self'"), (broker, "'self' https://login.example.nl")):
        with TestClient(create_app(configured), base_url=PUBLIC_URL) as client:
            page = client.get("/portaal/uitgelogd")
        directives = dict(
            d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
        )
        assert directives["form-action"] == allowed


def test_api_answers_are_not_cached_sniffed_or_framed(client: TestClient) -> None:
    response = client.get("/api/v1/audit/checkpoint")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_hsts_is_sent_when_the_gateway_is_served_over_https(settings: Settings) -> None:
    secure = settings.model_copy(update={"public_url": "https://gateway.example.nl"})
    with TestClient(create_app(secure), base_url=secure.public_url) as client:
        response = client.get("/health/live")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["content-security-policy"]


def test_errors_carry_no_stack_trace(client: TestClient, admin: dict[str, str]) -> None:
    for response in (
        client.get("/api/v1/exchanges/%00", headers=admin),
        client.post(
            "/api/v1/exchanges", content=b"{", headers={**admin, "content-type": "application/json"}
        ),
        client.get("/portaal/verzoeken/nope", follow_redirects=False),
        client.get("/portaal/static/../../gateway/settings.py"),
    ):
        assert "Traceback" not in response.text
        assert 'File "' not in response.text
        TALLY["abuse_requests"] += 1
