"""Login through the dev provider: PKCE required, sessions, logout, no open redirects."""

from __future__ import annotations

import httpx

from tests.portal.live import LiveGateway, browser, choose_person, csrf_of, log_in


def test_pages_need_a_login_and_send_you_there(live: LiveGateway) -> None:
    with httpx.Client(base_url=live.url) as anonymous:
        response = anonymous.get("/portaal/verzoeken/x")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portaal/inloggen?next=")


def test_the_session_cookie_is_http_only_and_same_site(live: LiveGateway) -> None:
    with httpx.Client(base_url=live.url) as client:
        started = client.get("/portaal/inloggen")
    cookie = started.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_the_provider_refuses_an_authorization_request_without_pkce(live: LiveGateway) -> None:
    with httpx.Client(base_url=live.url) as client:
        response = client.get(
            "/dev-oidc/authorize",
            params={
                "response_type": "code",
                "client_id": "kindkoppeling-portal",
                "redirect_uri": f"{live.url}/portaal/callback",
                "scope": "openid",
                "state": "s",
                "nonce": "n",
            },
        )
    assert response.status_code == 400
    assert "code_challenge" in response.text


def test_the_provider_never_redirects_to_an_unregistered_uri(live: LiveGateway) -> None:
    with httpx.Client(base_url=live.url) as client:
        response = client.get(
            "/dev-oidc/authorize",
            params={
                "response_type": "code",
                "client_id": "kindkoppeling-portal",
                "redirect_uri": "https://evil.example/steal",
                "scope": "openid",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            },
        )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_after_login_only_local_pages_are_followed(live: LiveGateway) -> None:
    client = browser(live)
    page = client.get("/portaal/inloggen", params={"next": "//evil.example/x"})

    landed = choose_person(client, page, "fatma")

    assert landed.url.host == "127.0.0.1"
    assert landed.url.path == "/portaal"


def test_logout_needs_the_token_and_ends_the_session(live: LiveGateway) -> None:
    fatma = log_in(live, "fatma")
    home = fatma.get("/portaal")

    assert fatma.post("/portaal/uitloggen", data={}).status_code == 403
    assert fatma.get("/portaal").url.path == "/portaal"
    out = fatma.post("/portaal/uitloggen", data={"csrf_token": csrf_of(home.text)})

    assert "uitgelogd" in out.text
    assert fatma.get("/portaal").url.path == "/dev-oidc/authorize"


def test_an_officer_of_an_unregistered_organisation_is_refused(live: LiveGateway) -> None:
    client = browser(live)
    page = client.get("/portaal/inloggen")

    refused = choose_person(client, page, "fg-regenboog")

    assert refused.status_code == 403
    assert "niet" in refused.text and "aangesloten" in refused.text


def test_a_posted_login_with_an_invalid_request_gets_a_page_not_a_500(live: LiveGateway) -> None:
    client = browser(live)
    page = client.get("/portaal/inloggen")

    response = client.post(
        "/dev-oidc/authorize?response_type=code&client_id=kindkoppeling-portal",
        data={"csrf_token": csrf_of(page.text), "person": "fatma"},
    )

    assert response.status_code == 400
    assert "code_challenge" in response.text
