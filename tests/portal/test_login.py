"""Login through the dev provider: PKCE required, sessions, logout that ends every copy of the
session cookie, a login's lifetime, no open redirects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.organisations.identifiers import OrganisationRole
from gateway.portal import assurance, logins
from gateway.portal.dev_oidc import NO_LEVEL
from gateway.portal.logins import LOGIN_LIFETIME, PortalLogin
from gateway.portal.setup import SESSION_COOKIE
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.exchanges.world import World
from tests.portal.family import as_officer
from tests.portal.live import LiveGateway, browser, choose_person, csrf_of, free_port, log_in


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


def copy_of(live: LiveGateway, client: httpx.Client) -> httpx.Client:
    """Another browser holding a copy of ``client``'s session cookie (say, a stolen one)."""
    copy = httpx.Client(base_url=live.url, timeout=10)
    live.clients.append(copy)
    copy.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE], domain="127.0.0.1", path="/")
    return copy


def test_after_logout_no_copy_of_the_session_cookie_works(live: LiveGateway) -> None:
    fatma = log_in(live, "fatma")
    stolen = copy_of(live, fatma)
    assert stolen.get("/portaal").status_code == 200

    home = fatma.get("/portaal")
    fatma.post("/portaal/uitloggen", data={"csrf_token": csrf_of(home.text)})
    refused = stolen.get("/portaal")

    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/portaal/inloggen")


def test_an_officers_copied_cookie_reads_no_audit_entries_after_logout(
    live: LiveGateway, world: World
) -> None:
    world.add("operator", OrganisationRole.GATEWAY)
    officer = as_officer(live, world, "fg-gateway", world.operator.id)
    stolen = copy_of(live, officer)
    assert stolen.get("/api/v1/audit/entries").status_code == 200

    dashboard = officer.get("/portaal/fg")
    officer.post("/portaal/uitloggen", data={"csrf_token": csrf_of(dashboard.text)})

    assert stolen.get("/api/v1/audit/entries").status_code == 401


def test_a_login_ends_a_working_day_after_it_began_and_maintenance_clears_it(
    live: LiveGateway, session: Session
) -> None:
    fatma = log_in(live, "fatma")
    assert fatma.get("/portaal").url.path == "/portaal"
    started = datetime.now(UTC) - LOGIN_LIFETIME - timedelta(minutes=1)
    session.execute(update(PortalLogin).values(started_at=started))
    session.commit()

    assert fatma.get("/portaal", follow_redirects=False).status_code == 303
    assert logins.purge(session) == 1
    session.commit()
    assert session.scalar(select(func.count()).select_from(PortalLogin)) == 0


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


def test_an_integrator_logs_in_as_the_parent_of_their_own_child_by_bsn(
    live: LiveGateway, world: World
) -> None:
    own_parent = "999999990"  # passes the elfproef; no dev person has it
    world.guardians(
        world.kinderopvang,
        {"bsn": "999999011", "birth_date": "2021-09-01"},
        {"relation": "vader", "gezag": True, "bsn": own_parent},
    )
    world.create(
        world.kinderopvang,
        world.school,
        "warme-overdracht",
        ["home_language"],
        child={"bsn": "999999011", "birth_date": "2021-09-01"},
    )
    client = browser(live)
    page = client.get("/portaal/inloggen")
    action = re.search(r'<form method="post" action="([^"]*/authorize[^"]*)"', page.text)
    assert action is not None
    url = action.group(1).replace("&amp;", "&")

    wrong = client.post(url, data={"csrf_token": csrf_of(page.text), "bsn": "123456789"})
    home = client.post(url, data={"csrf_token": csrf_of(page.text), "bsn": own_parent})

    assert wrong.status_code == 422 and "elfproef" in wrong.text
    assert home.status_code == 200
    assert "Testpersoon 9990" in home.text
    assert "Warme overdracht" in home.text


def test_an_unreachable_identity_provider_gets_a_page_not_a_500(settings: Settings) -> None:
    closed = free_port()  # nothing listens here
    unreachable = settings.model_copy(
        update={
            "oidc_issuer": f"http://127.0.0.1:{closed}",
            "oidc_client_secret": SecretStr("portal-secret"),
        }
    )
    with TestClient(create_app(unreachable), base_url=PUBLIC_URL) as client:
        page = client.get("/portaal/inloggen")

    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "niet bereikbaar" in page.text


@pytest.mark.parametrize(
    ("person", "level", "needed"),
    [
        ("fatma", assurance.DIGID_BASIS, "DigiD Substantieel of DigiD Hoog"),
        ("fatma", NO_LEVEL, "DigiD Substantieel of DigiD Hoog"),
        ("fg-regenboog", assurance.EH2, "eHerkenning EH3 of eHerkenning EH4"),
    ],
)
def test_a_login_below_the_level_chosen_at_the_dev_provider_is_refused(
    live: LiveGateway, world: World, person: str, level: str, needed: str
) -> None:
    if person == "fg-regenboog":
        as_officer(live, world, "fg-regenboog", world.school.id).close()  # known organisation
    client = browser(live)
    page = client.get("/portaal/inloggen")

    refused = choose_person(client, page, person, level)

    assert refused.status_code == 403
    assert f"is {needed} nodig" in refused.text
    assert client.get("/portaal", follow_redirects=False).status_code == 303


def test_the_portal_asks_the_dev_provider_for_the_officers_level_on_officer_pages(
    live: LiveGateway,
) -> None:
    client = browser(live)
    parents = client.get("/portaal/inloggen")
    officers = client.get("/portaal/fg")

    assert parse_qs(parents.url.query.decode())["acr_values"] == [assurance.PARENT_DEFAULT]
    assert parse_qs(officers.url.query.decode())["acr_values"] == [assurance.OFFICER_DEFAULT]


def test_logout_passes_the_dev_providers_end_session_with_the_id_token(
    live: LiveGateway, session: Session
) -> None:
    fatma = log_in(live, "fatma")
    home = fatma.get("/portaal")

    out = fatma.post("/portaal/uitloggen", data={"csrf_token": csrf_of(home.text)})

    [ended] = [r for r in out.history if r.url.path == "/dev-oidc/logout"]
    query = parse_qs(ended.url.query.decode())
    assert query["post_logout_redirect_uri"] == [f"{live.url}/portaal/uitgelogd"]
    assert query["id_token_hint"][0].count(".") == 2  # a JWT: the provider checks it was its own
    assert out.url.path == "/portaal/uitgelogd"
    assert "misschien nog niet" not in out.text
    assert session.scalar(select(func.count()).select_from(PortalLogin)) == 0


def test_the_dev_provider_redirects_no_one_after_logout_on_a_forged_hint(
    live: LiveGateway,
) -> None:
    forged = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with httpx.Client(base_url=live.url) as client:
        response = client.get(
            "/dev-oidc/logout",
            params={
                "id_token_hint": forged,
                "post_logout_redirect_uri": "https://evil.example/after",
            },
        )
        unregistered = client.get(
            "/dev-oidc/logout", params={"post_logout_redirect_uri": "https://evil.example/x"}
        )

    assert response.status_code == 400
    assert "location" not in response.headers
    assert unregistered.status_code == 200
    assert "location" not in unregistered.headers


def test_the_login_keeps_its_id_token_sealed_and_no_bsn_in_the_database(
    live: LiveGateway, session: Session
) -> None:
    log_in(live, "fatma")  # the dev provider's ID token carries her BSN

    [sealed] = session.scalars(select(PortalLogin.sealed_id_token)).all()

    assert sealed is not None
    assert b"100000034" not in sealed
    assert b"eyJ" not in sealed  # no JWT (base64url of '{"') in clear
