"""Portal login against an independent, OpenID Certified provider (panva's oidc-provider), set
up as a DigiD or eHerkenning broker would be: claims at the userinfo endpoint only, under scopes
and claim names of its own, levels of assurance, RP-Initiated Logout, and keys it rotates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.organisations.service import find_organisation
from gateway.portal import assurance
from gateway.portal.setup import SESSION_COOKIE
from tests.exchanges.world import World, make_world
from tests.portal.broker import Broker, citizen, fill_in, officer, portal_at_broker
from tests.portal.family import DAAN, NOOR, offer_warm, offer_zorg, parent
from tests.portal.live import LiveGateway, browser, csrf_of

FATMA_BSN = "100000034"
DAAN_BSN = "100000095"


@pytest.fixture(params=["RS256"])
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def portal(
    alg: str, database_url: str, engine: Engine, tmp_path: Path
) -> Iterator[tuple[Broker, LiveGateway]]:
    with portal_at_broker(database_url, tmp_path / "var", alg) as started:
        yield started


@pytest.fixture
def broker(portal: tuple[Broker, LiveGateway]) -> Broker:
    return portal[0]


@pytest.fixture
def live(portal: tuple[Broker, LiveGateway]) -> LiveGateway:
    """The gateway, its portal logging in at the broker (overrides the dev-provider ``live``)."""
    return portal[1]


def start_login(live: LiveGateway, client: httpx.Client | None = None) -> httpx.Response:
    """Follow "Inloggen" to wherever it ends: the broker's form, or past it."""
    return (client or browser(live)).get("/portaal/inloggen")


def confirm_logout(client: httpx.Client, page: httpx.Response) -> httpx.Response:
    """Say yes on the broker's own logout page (it asks, as RP-Initiated Logout lets it)."""
    form = re.search(
        r'<form id="op.logoutForm" method="post" action="([^"]+)">(.*?)</form>', page.text
    )
    assert form, f"not the broker's logout page: {page.url}"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    return client.post(form.group(1), data={**fields, "logout": "yes"})


def asked_of(form: httpx.Response) -> dict[str, list[str]]:
    """What the portal asked the broker for, on the way to the broker's ``form``."""
    asked = next(r for r in form.history if r.url.path == "/auth")
    return parse_qs(asked.url.query.decode())


def log_in_at_broker(
    live: LiveGateway, **claims: str
) -> tuple[httpx.Client, httpx.Response, httpx.Response]:
    """A new browser logs in at the broker as ``claims``: the client, the broker's form, and
    where the login ended."""
    client = browser(live)
    form = start_login(live, client)
    assert "Broker login (login)" in form.text, form.text
    return client, form, fill_in(client, form, **claims)


@pytest.mark.parametrize("alg", ["RS256", "ES256"], indirect=True)
def test_a_parent_logs_in_with_claims_from_userinfo_and_sees_their_child(
    live: LiveGateway, world: World
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))

    _, form, home = log_in_at_broker(live, **citizen("fatma-at-broker", FATMA_BSN))

    assert home.status_code == 200, home.text
    assert home.url.path == "/portaal"
    assert "Warme overdracht" in home.text
    query = asked_of(form)
    assert query["acr_values"] == [" ".join((assurance.DIGID_SUBSTANTIEEL, assurance.DIGID_HOOG))]
    assert query["scope"] == ["openid profile digid eherkenning"]


def test_a_child_of_12_or_older_logs_in_and_sees_their_own_request(
    live: LiveGateway, world: World
) -> None:
    offer_zorg(world, world.school, DAAN, parent("moeder", "els"))

    _, _, home = log_in_at_broker(live, **citizen("daan-at-broker", DAAN_BSN))

    assert home.status_code == 200, home.text
    assert "Uzelf (13 jaar)" in home.text


def test_an_officer_logs_in_with_eherkenning_and_sees_their_log(
    live: LiveGateway, world: World
) -> None:
    school = find_organisation(world.session, world.school.id)
    assert school is not None
    organisation = f"school:{school.identifier}"

    client = browser(live)
    form = client.get("/portaal/fg")
    assert "Broker login (login)" in form.text
    assert asked_of(form)["acr_values"] == [" ".join((assurance.EH3, assurance.EH4))]
    dashboard = fill_in(client, form, **officer("henk-at-broker", organisation))
    log = client.get("/portaal/fg/logboek")

    assert dashboard.url.path == "/portaal/fg"
    assert log.status_code == 200
    assert "Logboek" in log.text


@pytest.mark.parametrize(
    ("claims", "needed"),
    [
        (citizen("basis", FATMA_BSN, acr=assurance.DIGID_BASIS), "DigiD Substantieel"),
        (citizen("midden", FATMA_BSN, acr=assurance.DIGID_MIDDEN), "DigiD Substantieel"),
        (citizen("no-level", FATMA_BSN, acr=""), "DigiD Substantieel"),
        (citizen("eh3-parent", FATMA_BSN, acr=assurance.EH3), "DigiD Substantieel"),
        (officer("eh2", "school:12AB", acr=assurance.EH2), "eHerkenning EH3"),
        (officer("digid-officer", "school:12AB", acr=assurance.DIGID_HOOG), "eHerkenning EH3"),
    ],
    ids=["digid-basis", "digid-midden", "no-acr", "eherkenning-as-parent", "eh2", "digid-officer"],
)
def test_a_login_below_the_level_is_refused_with_the_level_it_needs(
    live: LiveGateway, claims: dict[str, str], needed: str
) -> None:
    client, _, refused = log_in_at_broker(live, **claims)

    assert refused.status_code == 403
    assert "te laag niveau" in refused.text
    assert needed in refused.text
    assert client.get("/portaal", follow_redirects=False).status_code == 303  # no login


def test_a_login_without_the_bsn_claim_is_refused(live: LiveGateway) -> None:
    claims = citizen("no-bsn", "")

    _, _, refused = log_in_at_broker(live, **claims)

    assert refused.status_code == 403
    assert "geen geldig burgerservicenummer" in refused.text


def test_userinfo_about_another_subject_is_refused(live: LiveGateway, world: World) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    claims = {**citizen("fatma-at-broker", FATMA_BSN), "userinfo_sub": "someone-else"}

    client, _, refused = log_in_at_broker(live, **claims)

    assert refused.status_code == 403
    assert "ander persoon" in refused.text
    assert "Warme overdracht" not in client.get("/portaal").text


def test_logout_ends_the_brokers_session_so_the_next_login_asks_again(
    live: LiveGateway, world: World
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    client, _, _ = log_in_at_broker(live, **citizen("fatma-at-broker", FATMA_BSN))
    # While the broker's session lasts, a new portal login passes without a password:
    client.cookies.delete(SESSION_COOKIE)
    again = start_login(live, client)
    assert again.url.path == "/portaal" and "Warme overdracht" in again.text

    confirm = client.post("/portaal/uitloggen", data={"csrf_token": csrf_of(again.text)})
    out = confirm_logout(client, confirm)
    next_login = start_login(live, client)

    assert out.url.path == "/portaal/uitgelogd"
    assert "misschien nog niet" not in out.text
    assert "Broker login (login)" in next_login.text


def test_without_an_end_session_endpoint_logout_is_local_and_says_so(
    database_url: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    with portal_at_broker(database_url, tmp_path / "var", "RS256", False) as (_, live):
        world = make_world(TestClient(live.app, base_url=live.url), session)
        offer_warm(world, NOOR, parent("moeder", "fatma"))
        client, _, home = log_in_at_broker(live, **citizen("fatma-at-broker", FATMA_BSN))

        out = client.post("/portaal/uitloggen", data={"csrf_token": csrf_of(home.text)})
        next_login = start_login(live, client)

    assert out.url.path == "/portaal/uitgelogd"
    assert "misschien nog niet bij de inlogdienst" in out.text
    assert next_login.url.path == "/portaal"  # what the page warned of: the broker let them in


@pytest.mark.parametrize("alg", ["RS256", "ES256"], indirect=True)
def test_logins_before_and_after_the_broker_rotates_its_keys_both_succeed(
    live: LiveGateway, world: World, broker: Broker
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    _, _, before = log_in_at_broker(live, **citizen("fatma-at-broker", FATMA_BSN))
    old_kids = {key["kid"] for key in broker.jwks["keys"]}

    broker.rotate_keys()
    _, _, after = log_in_at_broker(live, **citizen("fatma-at-broker", FATMA_BSN))

    assert old_kids.isdisjoint(key["kid"] for key in broker.jwks["keys"])
    assert before.url.path == after.url.path == "/portaal"
    assert "Warme overdracht" in after.text


def test_an_officer_of_an_organisation_that_is_not_connected_is_refused(
    live: LiveGateway,
) -> None:
    _, _, refused = log_in_at_broker(live, **officer("unknown-org", "school:99ZZ"))

    assert refused.status_code == 403
    assert "aangesloten" in refused.text
