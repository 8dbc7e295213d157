"""The portal in a real Chromium (Debian's, driven by Playwright), with axe-core checking every
page for serious and critical accessibility violations and a screenshot of each page saved to
``var/screenshots/``.

The story of issue 7: a parent logs in through the dev provider, grants two of three fields of a
warme overdracht; the school fetches exactly those two; the parent revokes and the school's next
fetch is refused; the history shows the fetch; another parent cannot open the child by changing
the id in the URL; an officer reviews a break-glass exchange.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import WARM_PAYLOAD, YOUNG, World, make_world
from tests.portal.broker import citizen, portal_at_broker
from tests.portal.family import NOOR, as_officer, break_glass, offer_warm, parent
from tests.portal.live import LiveGateway

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
BLOCKING = {"serious", "critical"}
LOCALES = {"nl": "nl-NL", "en": "en-GB"}
LOG_IN = {"nl": "Inloggen", "en": "Log in"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/test, which installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Visitor:
    """One person's browser, checking each page it sees."""

    def __init__(
        self, browser: Browser, live: LiveGateway, name: str, backend: str, language: str = "nl"
    ) -> None:
        self.context = browser.new_context(  # a phone, asking for the language
            viewport={"width": 390, "height": 844}, locale=LOCALES[language]
        )
        self.language = language
        self.page: Page = self.context.new_page()
        self.live = live
        self.name = name
        self.backend = backend
        self.axe = Axe()

    def check(self, label: str) -> None:
        """axe-core finds nothing serious or critical; the page is saved as a screenshot."""
        assert self.page.locator("html").get_attribute("lang") == self.language
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=SCREENSHOTS / f"{self.backend}-{self.name}-{label}.png", full_page=True
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']}"
            for v in self.axe.run(self.page).response["violations"]
            if v["impact"] in BLOCKING
        ]
        assert violations == [], f"{label}: {violations}"

    def log_in(self, person_label: str) -> None:
        self.page.goto(f"{self.live.url}/portaal")
        self.check("inloggen")
        self.page.get_by_label(person_label).check()
        self.page.get_by_role("button", name=LOG_IN[self.language], exact=True).click()

    def close(self) -> None:
        self.context.close()


def test_the_story_of_a_warme_overdracht_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = Visitor(browser, live, "fatma", backend)

    fatma.log_in("Fatma Yilmaz")
    fatma.page.get_by_role("heading", name="Mijn kinderen").wait_for()
    fatma.check("mijn-kinderen")
    fatma.page.get_by_role("link", name=re.compile("Warme overdracht")).click()
    fatma.check("verzoek")
    fatma.page.get_by_label("Sociaal-emotionele ontwikkeling").uncheck()
    fatma.page.get_by_role("button", name=re.compile("Toestemming geven")).click()
    fatma.page.get_by_role("heading", name="Uw antwoord is vastgelegd").wait_for()
    fatma.check("beantwoord")

    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    fetched = world.fetch(world.school, exchange_id)
    assert set(fetched.json()["fields"]) == {"development_summary", "home_language"}

    fatma.page.goto(f"{live.url}/portaal")
    fatma.page.get_by_role("link", name=re.compile("Intrekken")).click()
    fatma.check("intrekken")
    fatma.page.get_by_role("button", name=re.compile("trek mijn toestemming in")).click()
    fatma.page.get_by_text("ingetrokken").first.wait_for()
    assert world.fetch(world.school, exchange_id).status_code in {409, 410}

    fatma.page.goto(f"{live.url}/portaal")
    fatma.page.get_by_role("link", name=re.compile("Wie heeft wat ontvangen")).click()
    fatma.check("geschiedenis")
    history = fatma.page.locator("main").inner_text()
    assert "heeft gegevens ontvangen" in history
    assert "Thuistaal" in history
    history_url = fatma.page.url

    sara = Visitor(browser, live, "sara", backend)
    sara.log_in("Sara Bakker")
    sara.page.get_by_role("heading", name="Mijn kinderen").wait_for()
    response = sara.page.goto(history_url)
    assert response is not None and response.status == 404
    sara.check("niet-gevonden")
    assert "Thuistaal" not in sara.page.locator("main").inner_text()
    fatma.close()
    sara.close()


def test_every_parent_page_in_english_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = Visitor(browser, live, "fatma-en", backend, language="en")
    page = fatma.page

    fatma.log_in("Fatma Yilmaz")
    page.get_by_role("heading", name="My children").wait_for()
    fatma.check("my-children")
    page.get_by_role("link", name=re.compile("Warm handover")).click()
    fatma.check("request")
    page.get_by_label("Social and emotional development").uncheck()
    page.get_by_role("button", name="Give consent for the ticked items").click()
    page.get_by_role("heading", name="Your answer has been recorded").wait_for()
    fatma.check("answered")

    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    page.goto(f"{live.url}/portaal")
    page.get_by_role("link", name=re.compile("Read the content")).click()
    page.get_by_role("heading", name="What is waiting now").wait_for()
    fatma.check("held")
    page.goto(f"{live.url}/portaal")
    page.get_by_role("link", name="Who received what about this child?").click()
    page.get_by_role("heading", name="Who received what").wait_for()
    fatma.check("history")
    page.goto(f"{live.url}/portaal")
    page.get_by_role("link", name="Give consent in advance for this child").click()
    fatma.check("ahead-purpose")
    page.get_by_role("link", name="Warm handover").click()
    page.get_by_role("heading", name="Warm handover").wait_for()
    fatma.check("ahead-form")
    page.goto(f"{live.url}/portaal")
    page.get_by_role("link", name=re.compile("E-mail notices")).click()
    page.get_by_role("heading", name="E-mail notices").wait_for()
    fatma.check("email")
    page.goto(f"{live.url}/portaal")
    page.get_by_role("link", name=re.compile("Withdraw")).first.click()
    fatma.check("withdraw")
    page.get_by_role("button", name="Yes, withdraw my consent").click()
    page.get_by_text("You withdrew your consent").wait_for()
    fatma.check("withdrawn")
    response = page.goto(f"{live.url}/portaal/kinderen/someone-else/geschiedenis")
    assert response is not None and response.status == 404
    fatma.check("not-found")

    page.goto(f"{live.url}/portaal")
    page.get_by_role("button", name="Nederlands").click()
    page.get_by_role("heading", name="Mijn kinderen").wait_for()
    fatma.language = "nl"
    fatma.check("switched-to-dutch")
    fatma.close()


def test_an_officer_reviews_a_break_glass_exchange_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    world.add("operator", OrganisationRole.GATEWAY)
    as_officer(live, world, "fg-gateway", world.operator.id)
    exchange_id = break_glass(world)
    anna = Visitor(browser, live, "officer", backend)

    anna.log_in("Anna Visser")
    anna.page.get_by_role("heading", name="Overzicht").wait_for()
    anna.check("overzicht")
    anna.page.get_by_role("link", name="Break-glass beoordelen").first.click()
    anna.check("break-glass")
    anna.page.get_by_label("Uw beoordeling").fill("Terecht: de veiligheid ging voor.")
    anna.page.get_by_role("button", name="Markeer als beoordeeld").click()
    anna.page.get_by_text("Er wacht niets op beoordeling").wait_for()
    assert "break_glass.review" in world.audit_actions(exchange_id)
    officer_pages = (
        ("/portaal/fg/logboek", "logboek"),
        ("/portaal/fg/geweigerd", "geweigerd"),
        ("/portaal/fg/e-mail", "werkadres"),
    )
    for path, label in officer_pages:
        anna.page.goto(f"{live.url}{path}")
        anna.check(label)
    anna.page.goto(f"{live.url}/portaal/fg/logboek")
    bsn = anna.page.get_by_label("Of zoek een kind op BSN")
    bsn.fill(YOUNG["bsn"])
    anna.page.get_by_role("button", name="Zoek op BSN").click()
    anna.page.get_by_role("cell", name="plaatsing-opvang").first.wait_for()
    assert YOUNG["bsn"] not in anna.page.url and "kind=" in anna.page.url
    anna.check("logboek-bsn")
    bsn.fill("123456789")
    anna.page.get_by_role("button", name="Zoek op BSN").click()
    anna.page.get_by_role("alert").get_by_text("elfproef").wait_for()
    anna.check("logboek-bsn-fout")
    anna.page.goto(f"{live.url}/portaal/fg/uitwisselingen/{exchange_id}/beslissingen")
    anna.page.get_by_text("Wat het beleid te horen kreeg").first.wait_for()
    anna.check("beslissingen")
    anna.page.get_by_role("button", name="Beslissing opnieuw uitrekenen").click()
    anna.page.get_by_text("opnieuw precies zo uit").first.wait_for()
    anna.check("beslissingen-opnieuw")
    anna.close()


def test_a_parent_leaves_and_deletes_an_email_address_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = Visitor(browser, live, "fatma", backend)

    fatma.log_in("Fatma Yilmaz")
    fatma.page.get_by_role("link", name=re.compile("E-mailberichten")).click()
    fatma.page.get_by_role("heading", name="E-mailberichten").wait_for()
    fatma.check("e-mail")
    fatma.page.get_by_label("E-mailadres").fill("fatma@mail.example")
    fatma.page.get_by_role("button", name="Opslaan").click()
    fatma.page.get_by_text("Uw e-mailadres is opgeslagen").wait_for()
    fatma.check("e-mail-opgeslagen")
    assert "fa…@mail.example" in fatma.page.locator("main").inner_text()
    fatma.page.get_by_role("button", name="Verwijder mijn e-mailadres").click()
    fatma.page.get_by_text("Uw e-mailadres is verwijderd").wait_for()
    assert "U krijgt geen e-mail" in fatma.page.locator("main").inner_text()
    fatma.close()


def test_a_parent_reads_what_is_held_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    world.grant_all(exchange_id)
    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    fatma = Visitor(browser, live, "fatma", backend)

    fatma.log_in("Fatma Yilmaz")
    fatma.page.get_by_role("link", name=re.compile("Lees de inhoud")).click()
    fatma.page.get_by_role("heading", name="Wat er nu klaarligt").wait_for()
    fatma.check("inzage")

    shown = fatma.page.locator("main").inner_text()
    assert all(str(value) in shown for value in WARM_PAYLOAD.values())
    fatma.close()


def test_a_parent_gives_consent_ahead_of_time_in_the_browser(
    browser: Browser, live: LiveGateway, world: World, backend: str
) -> None:
    from tests.signals.conftest import UTRECHT

    world.add("region", OrganisationRole.SWV, identifier="PO2797", region=[UTRECHT])
    world.guardians(world.kinderopvang, NOOR, parent("moeder", "fatma"))
    fatma = Visitor(browser, live, "fatma", backend)

    fatma.log_in("Fatma Yilmaz")
    fatma.page.get_by_role("link", name=re.compile("Toestemming vooraf geven")).click()
    fatma.check("vooraf-doel")
    fatma.page.get_by_role("link", name="Warme overdracht").click()
    fatma.page.get_by_role("heading", name="Warme overdracht").wait_for()
    fatma.check("vooraf-formulier")
    fatma.page.get_by_label(re.compile("Elke school in de regio van")).check()
    fatma.page.get_by_role("button", name="Toestemming geven").click()
    fatma.page.get_by_text("Uw toestemming vooraf is vastgelegd").wait_for()
    fatma.check("vooraf-gegeven")
    assert "(vooraf gegeven)" in fatma.page.locator("main").inner_text()
    fatma.close()


def test_a_parent_logs_in_and_out_through_an_independent_broker_in_the_browser(
    browser: Browser, database_url: str, session: Session, tmp_path: Path, backend: str
) -> None:
    # panva's oidc-provider as the broker: its login form, its logout confirmation, and a
    # logout form on the portal that redirects to another origin (allowed by form-action).
    with portal_at_broker(database_url, tmp_path / "var", "ES256") as (_, live):
        world = make_world(TestClient(live.app, base_url=live.url), session)
        offer_warm(world, NOOR, parent("moeder", "fatma"))
        fatma = Visitor(browser, live, "fatma-broker", backend)

        fatma.page.goto(f"{live.url}/portaal")
        for name, value in citizen("fatma-at-broker", "100000034").items():
            fatma.page.get_by_label(name, exact=True).fill(value)
        fatma.page.get_by_role("button", name="Log in").click()
        fatma.page.get_by_role("heading", name="Mijn kinderen").wait_for()
        fatma.check("broker-mijn-kinderen")
        assert "Warme overdracht" in fatma.page.locator("main").inner_text()

        fatma.page.get_by_role("button", name="Uitloggen").click()
        fatma.page.get_by_role("button", name="Yes, sign me out").click()
        fatma.page.get_by_role("heading", name="U bent uitgelogd").wait_for()
        fatma.check("broker-uitgelogd")
        fatma.page.goto(f"{live.url}/portaal")
        fatma.page.get_by_role("heading", name="Broker login (login)").wait_for()
        fatma.close()
