"""E-mail notices: a parent leaves an address in the portal; a request that waits for them, or
an exchange they are informed of, sends a real SMTP server a short Dutch message with a link
and nothing about the child; a deleted address sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from gateway.notifications.models import ContactAddress, MailMessage, MailStatus
from tests.exchanges.test_api import SIGNAL_FIELDS
from tests.exchanges.world import WARM_PAYLOAD, World
from tests.portal.family import NOOR, offer_warm, parent
from tests.portal.live import LiveGateway, csrf_of, log_in
from tests.portal.mail import ADDRESS, Inbox, leave_address, mailer


def test_a_waiting_request_sends_a_notice_with_nothing_about_the_child(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    fatma = log_in(live, "fatma")
    saved = leave_address(fatma, ADDRESS)
    bad = leave_address(fatma, "not an address")

    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"))
    sent = mailer(live, port).run_once()

    assert saved.status_code == 200 and "fa…@mail.example" in saved.text
    assert bad.status_code == 422 and "geen e-mailadres" in bad.text
    assert sent == 1
    [mail] = box.messages
    assert box.recipients == [[ADDRESS]]
    assert mail["Subject"] == "Er staat iets voor u klaar in Kindkoppeling"
    sent_at = parsedate_to_datetime(mail["Date"])  # RFC 5322 3.6: Date is required
    assert sent_at.tzinfo is not None and abs(sent_at - datetime.now(UTC)) < timedelta(hours=1)
    with live.app.state.sessions() as session:
        notice_id = session.scalars(select(MailMessage.id)).one()
    assert mail["Message-ID"] == f"<{notice_id}@kindkoppeling.test>"
    text = mail.get_payload(decode=True).decode()
    assert f"{live.url}/portaal" in text
    for secret in (NOOR["bsn"], NOOR["birth_date"], "Noor", "warme", "Warme", exchange_id,
                   "Kinderopvang", "school", *WARM_PAYLOAD.values()):  # fmt: skip
        assert str(secret) not in text, secret
    with live.app.state.sessions() as session:
        sealed = session.scalars(select(ContactAddress)).one()
        assert ADDRESS.encode() not in sealed.sealed
        statuses = session.scalars(select(MailMessage.status)).all()
    assert statuses == [MailStatus.SENT]
    assert mailer(live, port).run_once() == 0  # once


def test_a_deleted_address_gets_no_notice(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    fatma = log_in(live, "fatma")
    leave_address(fatma, ADDRESS)
    page = fatma.get("/portaal/e-mail")
    deleted = fatma.post(
        "/portaal/e-mail", data={"csrf_token": csrf_of(page.text), "actie": "verwijderen"}
    )

    offer_warm(world, NOOR, parent("moeder", "fatma"))

    assert "Uw e-mailadres is verwijderd" in deleted.text
    assert mailer(live, port).run_once() == 0
    assert box.messages == []
    actions = [e["action"] for e in world.audit_entries() if e["action"].startswith("contact.")]
    assert actions == ["contact.set", "contact.delete"]
    assert all(ADDRESS not in str(e) for e in world.audit_entries())


def test_being_informed_of_a_legal_duty_exchange_sends_a_notice_too(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    pupil = {"bsn": "100000150", "birth_date": "2016-02-11"}
    world.guardians(world.school, pupil, parent("moeder", "fatma"))
    leave_address(log_in(live, "fatma"), ADDRESS)

    world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS, child=pupil)

    assert mailer(live, port).run_once() == 1
    [mail] = box.messages
    text = mail.get_payload(decode=True).decode()
    assert "bericht voor u klaar in Kindkoppeling over gegevens die zijn gedeeld" in text
    assert "verzuim" not in text.lower() and pupil["bsn"] not in text
