"""Maintenance tells the responsible officers, once, when a break-glass review falls overdue
(issue 36): the officers of both parties and the gateway's, who left a work address in the
officer portal; never an officer of an organisation outside the exchange; nothing about the
child in the mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from gateway.exchanges.maintenance import maintain
from gateway.exchanges.models import Exchange
from gateway.notifications.models import ContactAddress
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import YOUNG, World
from tests.portal.family import as_officer, break_glass
from tests.portal.live import LiveGateway, csrf_of
from tests.portal.mail import Inbox, mailer


def leave_work_address(officer: httpx.Client, address: str) -> httpx.Response:
    page = officer.get("/portaal/fg/e-mail")
    assert page.status_code == 200 and "E-mail bij te late beoordelingen" in page.text
    return officer.post(
        "/portaal/fg/e-mail",
        data={"csrf_token": csrf_of(page.text), "email": address, "actie": "opslaan"},
    )


def fall_overdue(world: World, exchange_id: str) -> None:
    world.session.expire_all()
    exchange = world.session.get_one(Exchange, exchange_id)
    exchange.break_glass_review_due = datetime.now(UTC) - timedelta(hours=1)
    world.session.commit()


def run_maintenance(world: World) -> int:
    state = world.app.state
    return maintain(world.session, state.signals, state.audit_signer).reviews_overdue


def test_an_overdue_review_is_mailed_once_to_the_officers_of_its_parties_and_the_gateway(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    world.add("operator", OrganisationRole.GATEWAY)
    gateway_officer = as_officer(live, world, "fg-gateway", world.operator.id)
    school_officer = as_officer(live, world, "fg-regenboog", world.school.id)
    home = school_officer.get("/portaal/fg").text
    assert "laat een werkadres achter" in home
    assert leave_work_address(gateway_officer, "fg@kindkoppeling.example").status_code == 200
    saved = leave_work_address(school_officer, "fg@regenboog.example")
    assert "Uw werkadres is opgeslagen." in saved.text and "fg…@regenboog.example" in saved.text
    assert "u krijgt een bericht" in school_officer.get("/portaal/fg").text
    wrong = leave_work_address(school_officer, "geen adres")
    assert wrong.status_code == 422 and "fg…@regenboog.example" in wrong.text

    # Elsewhere: a break-glass exchange between the shelter and another school.
    elsewhere = break_glass(world, world.add("other", OrganisationRole.SCHOOL))
    ours, on_time = break_glass(world), break_glass(world)
    assert run_maintenance(world) == 0  # nothing is late yet

    fall_overdue(world, elsewhere)
    assert run_maintenance(world) == 1
    assert mailer(live, port).run_once() == 1
    assert box.recipients == [["fg@kindkoppeling.example"]]  # not the school's officer

    fall_overdue(world, ours)
    assert run_maintenance(world) == 1
    assert run_maintenance(world) == 0  # told once
    assert mailer(live, port).run_once() == 2
    assert sorted(r for [r] in box.recipients[1:]) == [
        "fg@kindkoppeling.example",
        "fg@regenboog.example",
    ]
    for mail in box.messages:
        assert mail["Subject"] == "Een break-glass-beoordeling is te laat"
        text = mail.get_payload(decode=True).decode()
        assert f"{live.url}/portaal/fg/break-glass" in text
        secrets = (YOUNG["bsn"], YOUNG["birth_date"], elsewhere, ours, on_time, "plaatsing")
        for secret in (*secrets, "Veilig Thuis", "acuut risico", "school", "opvang"):
            assert str(secret) not in text, secret


def test_a_reviewed_exchange_is_not_told_about_and_a_deleted_address_gets_nothing(
    live: LiveGateway, world: World, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    school_officer = as_officer(live, world, "fg-regenboog", world.school.id)
    leave_work_address(school_officer, "fg@regenboog.example")
    reviewed, later = break_glass(world), break_glass(world)
    queue = school_officer.get("/portaal/fg/break-glass")
    assert (
        school_officer.post(
            f"/portaal/fg/break-glass/{reviewed}",
            data={"csrf_token": csrf_of(queue.text), "note": "Terecht."},
        ).status_code
        == 200
    )
    fall_overdue(world, reviewed)
    assert run_maintenance(world) == 0

    page = school_officer.get("/portaal/fg/e-mail")
    deleted = school_officer.post(
        "/portaal/fg/e-mail", data={"csrf_token": csrf_of(page.text), "actie": "verwijderen"}
    )
    assert "Uw werkadres is verwijderd." in deleted.text
    fall_overdue(world, later)
    assert run_maintenance(world) == 1
    assert mailer(live, port).run_once() == 0 and box.messages == []
    assert world.session.scalars(select(ContactAddress)).all() == []
    actions = [e["action"] for e in world.audit_entries() if e["action"].startswith("contact.")]
    assert actions == ["contact.set", "contact.delete"]
