"""The portal in English (issue 36): an English-speaking parent logs in, answers a request and
gets the notice e-mail, all in English; a parent who switches keeps the choice with their login;
officer pages stay Dutch.

"In English" is checked against the catalogue itself: no Dutch text that the catalogue
translates differently may be left on the page.
"""

from __future__ import annotations

import html
import re
from functools import cache

import httpx
from babel.messages.pofile import read_po

from gateway.translations import catalogue_path
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.portal.family import NOOR, as_officer, offer_warm, parent
from tests.portal.live import LiveGateway, csrf_of, log_in
from tests.portal.mail import ADDRESS, Inbox, leave_address, mailer

ENGLISH = "en-GB,en;q=0.9,nl;q=0.3"


@cache
def dutch_only() -> list[re.Pattern[str]]:
    """The catalogue's Dutch texts of two words or more without placeholders whose English
    differs: none of them belongs on an English page."""
    with catalogue_path("en").open("rb") as po:
        catalogue = read_po(po)
    found = []
    for message in catalogue:
        if not message.id or isinstance(message.id, tuple) or "%(" in message.id:
            continue
        if len(message.id.split()) >= 2 and message.string != message.id:
            found.append(re.compile(rf"(?<!\w){re.escape(message.id)}(?!\w)"))
    return found


def visible(page: httpx.Response) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page.text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def assert_english(page: httpx.Response) -> None:
    assert page.status_code < 400, page.text
    assert '<html lang="en">' in page.text
    assert page.headers["Content-Language"] == "en"
    assert "Accept-Language" in page.headers["Vary"]
    text = " ".join(visible(page).split())
    left = [p.pattern for p in dutch_only() if p.search(text)]
    assert left == [], f"Dutch left on {page.url}: {left}"


def test_an_english_speaking_parent_answers_a_request_in_english_and_is_mailed_in_english(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma", accept_language=ENGLISH)

    home = fatma.get("/portaal")
    assert_english(home)
    assert "My children" in home.text and "You are: mother." in visible(home)
    assert "Warm handover" in home.text and re.search(r"asks for \d+ items?", visible(home))
    history = re.search(r"/portaal/kinderen/[0-9a-f-]{36}/geschiedenis", home.text)
    assert history is not None
    [request_path] = re.findall(r'href="(/portaal/verzoeken/[^"]+)"', home.text)
    request = fatma.get(request_path)
    assert_english(request)
    assert "Home language" in request.text and "Who is asking" in request.text
    answered = fatma.post(
        request_path,
        data={
            "csrf_token": csrf_of(request.text),
            "explanation_version": re.search(
                r'name="explanation_version" value="([^"]+)"', request.text
            ).group(1),  # type: ignore[union-attr]
            "answer": "grant",
            "fields": ["home_language", "development_summary"],
        },
    )
    assert_english(answered)
    assert "Your answer has been recorded" in answered.text
    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    assert world.fetch(world.school, exchange_id).status_code == 200

    for path in ("/portaal/e-mail", history.group(0)):
        assert_english(fatma.get(path))
    saved = leave_address(fatma, ADDRESS)
    assert_english(saved)
    assert "Your e-mail address has been saved." in saved.text

    offer_warm(world, {"bsn": "100000010", "birth_date": "2021-05-02"}, parent("moeder", "fatma"))
    assert mailer(live, port).run_once() == 1
    [mail] = box.messages
    assert mail["Subject"] == "Something is waiting for you in Kindkoppeling"
    assert mail["Content-Language"] == "en"
    text = mail.get_payload(decode=True).decode()
    assert text.startswith("Hello,") and "A question is waiting for you" in text
    assert "Goedendag" not in text and f"{live.url}/portaal" in text


def test_the_switch_changes_the_language_and_the_next_login_keeps_it(
    live: LiveGateway, world: World
) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma")  # a browser that asks for no language: Dutch
    home = fatma.get("/portaal")
    assert '<html lang="nl">' in home.text and "Mijn kinderen" in home.text

    switched = fatma.post(
        "/portaal/taal",
        data={"csrf_token": csrf_of(home.text), "taal": "en", "terug": "/portaal#toestemmingen"},
    )
    assert switched.url.path == "/portaal"
    assert_english(switched)
    logged_out = fatma.post("/portaal/uitloggen", data={"csrf_token": csrf_of(switched.text)})
    assert '<html lang="en">' in logged_out.text and "logged out" in logged_out.text

    again = log_in(live, "fatma")  # another browser, no Accept-Language, no session
    assert_english(again.get("/portaal"))

    back = again.post(
        "/portaal/taal", data={"csrf_token": csrf_of(again.get("/portaal").text), "taal": "nl"}
    )
    assert '<html lang="nl">' in back.text and "Mijn kinderen" in back.text
    refused = again.post(
        "/portaal/taal",
        data={"csrf_token": csrf_of(back.text), "taal": "xx", "terug": "https://elsewhere.test/"},
    )
    assert refused.status_code == 422
    elsewhere = again.post(
        "/portaal/taal",
        data={"csrf_token": csrf_of(back.text), "taal": "en", "terug": "https://elsewhere.test/"},
    )
    assert elsewhere.url.host == "127.0.0.1" and elsewhere.url.path == "/portaal"
    forged = again.post("/portaal/taal", data={"csrf_token": "forged", "taal": "en"})
    assert forged.status_code == 403


def test_errors_are_in_english_without_echoing_the_path(live: LiveGateway, world: World) -> None:
    offer_warm(world, NOOR, parent("moeder", "fatma"))
    fatma = log_in(live, "fatma", accept_language="en")
    missing = fatma.get("/portaal/kinderen/not-a-child-of-yours/geschiedenis")
    assert missing.status_code == 404
    assert '<html lang="en">' in missing.text
    assert "Not found" in missing.text and "This child is not linked to you." in missing.text
    assert "not-a-child-of-yours" not in missing.text


def test_officer_pages_stay_dutch_for_an_english_browser(live: LiveGateway, world: World) -> None:
    officer = as_officer(live, world, "fg-regenboog", world.school.id)
    officer.headers["Accept-Language"] = "en"
    overview = officer.get("/portaal/fg")
    assert overview.status_code == 200
    assert '<html lang="nl">' in overview.text and "Overzicht" in overview.text
