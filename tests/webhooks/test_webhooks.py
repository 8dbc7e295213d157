"""Webhooks end to end: a real receiver gets each event once, signed so that the Standard
Webhooks reference library verifies it, again after it failed, and never for an action that
was rolled back; several workers never send one message twice at once."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.webhooks.delivery import RETRY_SCHEDULE, Deliverer
from gateway.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription
from tests.exchanges.test_api import SIGNAL_FIELDS
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World
from tests.webhooks.conftest import Clock, Receiver, subscribe

FORBIDDEN = [YOUNG["bsn"], *(str(v) for v in WARM_PAYLOAD.values())]


def signal(world: World) -> None:
    """A verzuimmelding from the school to leerplicht: a legal duty, awaiting delivery at once."""
    world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)


def warm_transfer(world: World) -> str:
    """A warme overdracht the school asks for, granted, delivered and fetched."""
    world.guardians(world.school, YOUNG, {"relation": "moeder", "gezag": True})
    asked = world.create(
        world.school, world.kinderopvang, "warme-overdracht", WARM_FIELDS, direction="request"
    )
    world.grant_all(asked["id"])
    assert world.deliver(world.kinderopvang, asked["id"], WARM_PAYLOAD).status_code == 200
    assert world.fetch(world.school, asked["id"]).status_code == 200
    return str(asked["id"])


def test_each_event_arrives_once_signed_and_thin(
    world: World, receiver: Receiver, deliverer: Deliverer
) -> None:
    school = subscribe(world, world.school, receiver.url)
    source = subscribe(world, world.kinderopvang, receiver.url, "exchange.awaiting_delivery")

    exchange_id = warm_transfer(world)
    while deliverer.run_once():
        pass

    school_hook, source_hook = Webhook(str(school["secret"])), Webhook(str(source["secret"]))
    types = []
    for message in receiver.received:
        hook = school_hook if message.event["type"] != "exchange.awaiting_delivery" else source_hook
        event = hook.verify(message.body, message.headers)  # raises unless signed right
        assert event["data"]["exchange_id"] == exchange_id
        assert not any(value in message.body for value in FORBIDDEN)
        types.append(event["type"])
    assert sorted(types) == ["consent.granted", "exchange.awaiting_delivery", "exchange.delivered"]
    ids = [m.headers["webhook-id"] for m in receiver.received]
    assert len(set(ids)) == len(ids)
    assert deliverer.run_once() == 0  # nothing is sent twice


def test_a_failed_message_is_sent_again_with_backoff_and_then_delivered(
    world: World, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    hook = subscribe(world, world.school, receiver.url, "exchange.awaiting_delivery")
    receiver.answers = [500, 500]
    signal(world)

    assert deliverer.run_once() == 1  # 500
    assert deliverer.run_once() == 0  # not due yet
    clock.advance(RETRY_SCHEDULE[0])
    assert deliverer.run_once() == 1  # 500 again
    clock.advance(RETRY_SCHEDULE[1])
    assert deliverer.run_once() == 1  # 204

    assert len({m.headers["webhook-id"] for m in receiver.received}) == 1
    assert len(receiver.received) == 3
    for message in receiver.received:
        Webhook(str(hook["secret"])).verify(message.body, message.headers)
    deliveries = world.client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=world.school.headers
    ).json()
    [only] = deliveries["items"]
    assert only["status"] == "delivered"
    assert [a["status_code"] for a in only["attempts"]] == [500, 500, 204]


def test_a_message_that_never_gets_through_is_marked_failed_and_shown(
    world: World, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    hook = subscribe(world, world.school, receiver.url, "exchange.awaiting_delivery")
    receiver.answers = [503] * (len(RETRY_SCHEDULE) + 1)
    signal(world)

    for wait in (0, *RETRY_SCHEDULE):
        clock.advance(wait)
        assert deliverer.run_once() == 1
    clock.advance(10**6)

    assert deliverer.run_once() == 0
    shown = world.client.get(f"/api/v1/webhooks/{hook['id']}", headers=world.school.headers)
    assert shown.json()["failed_messages"] == 1
    deliveries = world.client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=world.school.headers
    ).json()
    assert deliveries["items"][0]["status"] == "failed"
    assert len(deliveries["items"][0]["attempts"]) == len(RETRY_SCHEDULE) + 1


def test_a_rolled_back_action_sends_nothing(
    world: World, receiver: Receiver, deliverer: Deliverer
) -> None:
    subscribe(world, world.kinderopvang, receiver.url)
    subscribe(world, world.school, receiver.url)
    world.guardians(world.school, YOUNG, {"relation": "moeder", "gezag": True})
    asked = world.create(
        world.school, world.kinderopvang, "warme-overdracht", WARM_FIELDS, direction="request"
    )
    with world.app.state.sessions() as session:
        before = session.scalar(select(func.count()).select_from(WebhookMessage))
        exchange = session.get_one(Exchange, asked["id"])
        exchange.status = ExchangeStatus.AWAITING_DELIVERY  # an action under way ...
        session.flush()
        session.rollback()  # ... that fails
        session.commit()  # the next transaction of the same session has nothing to announce
        after = session.scalar(select(func.count()).select_from(WebhookMessage))

    assert after == before

    assert deliverer.run_once() == 0
    assert receiver.received == []
    assert world.status(world.school, asked["id"]) == ExchangeStatus.AWAITING_CONSENT.value


def test_two_workers_never_send_one_message_twice(
    world: World, receiver: Receiver, clock: Clock
) -> None:
    subscribe(world, world.school, receiver.url, "exchange.awaiting_delivery")
    for _ in range(12):  # each verzuimmelding is an exchange of its own
        signal(world)
    receiver.delay = 0.05
    state = world.app.state
    workers = [
        Deliverer(state.sessions, state.exchanges.keyring, clock=clock, allow_internal=True)
        for _ in range(2)
    ]

    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [m.headers["webhook-id"] for m in receiver.received]
    assert len(ids) == 12 and len(set(ids)) == 12


def test_subscriptions_are_the_organisations_own_and_the_secret_is_shown_once(
    world: World, receiver: Receiver, deliverer: Deliverer
) -> None:
    created = subscribe(world, world.school, receiver.url)
    path = f"/api/v1/webhooks/{created['id']}"

    mine = world.client.get(path, headers=world.school.headers)
    theirs = world.client.get(path, headers=world.kinderopvang.headers)
    plain = world.client.post(
        "/api/v1/webhooks",
        json={"url": "http://lvs.example/hooks", "event_types": ["exchange.delivered"]},
        headers=world.kinderopvang.headers,
    )
    paused = world.client.patch(path, json={"paused": True}, headers=world.school.headers)
    signal(world)
    sent_while_paused = deliverer.run_once()
    deleted = world.client.delete(path, headers=world.school.headers)

    assert str(created["secret"]).startswith("whsec_")
    assert mine.status_code == 200 and "secret" not in mine.json()
    assert theirs.status_code == 404
    assert plain.status_code == 422 and "#/url" in json.dumps(plain.json()["errors"])
    assert paused.json()["paused"] is True and sent_while_paused == 0
    assert deleted.status_code == 204
    assert world.client.get(path, headers=world.school.headers).status_code == 404
    actions = [e["action"] for e in world.audit_entries() if e["subject"] == created["id"]]
    assert actions == ["webhook.create", "webhook.update", "webhook.delete"]


def test_outside_dev_a_webhook_cannot_point_at_the_gateways_own_networks() -> None:
    from gateway.errors import ValidationFailedError
    from gateway.webhooks.service import check_url

    for url in (
        "http://lvs.example/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://[::1]/hooks",
        "https://169.254.169.254/latest",
        "https://db.internal/x",
        "http://127.0.0.1:9000/hooks",
        "https://[::1/hooks",  # malformed: a 422 like the others, never a 500
    ):
        with pytest.raises(ValidationFailedError):
            check_url(url, dev=False)
    with pytest.raises(ValidationFailedError):
        check_url("http://[::1/hooks", dev=True)
    check_url("https://lvs.school.example/hooks", dev=False)
    check_url("https://145.100.1.1/hooks", dev=False)
    check_url("http://127.0.0.1:9000/hooks", dev=True)


def test_leerplicht_is_told_of_a_signal_and_both_parties_of_a_break_glass(
    world: World, receiver: Receiver, deliverer: Deliverer
) -> None:
    from datetime import date, timedelta

    from gateway.organisations.identifiers import OrganisationRole
    from tests.portal.family import break_glass
    from tests.signals.conftest import UTRECHT, children, report

    office = world.add("utrecht", OrganisationRole.LEERPLICHT, identifier=UTRECHT)
    subscribe(world, office, receiver.url, "signal.received")
    subscribe(world, world.shelter, receiver.url, "break_glass.review_due")
    subscribe(world, world.school, receiver.url, "break_glass.review_due")
    since = str(date.today() - timedelta(days=35))

    reported = report(world, world.school, children(1)[0], absent_since=since, enrolled=True)
    exchange_id = break_glass(world)
    while deliverer.run_once():
        pass

    assert reported.status_code == 201, reported.text
    [signal] = receiver.of_type("signal.received")
    assert signal.event["data"] == {"exchange_id": reported.json()["exchange"]["id"]}
    reviews = receiver.of_type("break_glass.review_due")
    assert len(reviews) == 2
    assert {r.event["data"]["exchange_id"] for r in reviews} == {exchange_id}


INTERNAL_SPELLINGS = [
    "https://127.1/hooks",
    "https://0x7f000001/hooks",
    "https://2130706433/hooks",
    "https://0177.0.0.1/hooks",
    "https://0/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://localhost./hooks",
    "https://metadata.google.internal./computeMetadata/v1/",
]


@pytest.mark.parametrize("url", INTERNAL_SPELLINGS)
def test_outside_dev_every_spelling_of_an_internal_address_is_refused(url: str) -> None:
    # ipaddress.ip_address() parses none of the first five, but the resolver the sender uses
    # takes them all, to 127.0.0.1 or 0.0.0.0.
    from gateway.errors import ValidationFailedError
    from gateway.webhooks.service import check_url

    with pytest.raises(ValidationFailedError):
        check_url(url, dev=False)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A TCP listener on loopback that counts the connections it is offered."""
    accepted: list[object] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(connection)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=5)
    server.close()


@pytest.mark.parametrize("host", ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0"])
def test_outside_dev_a_delivery_never_reaches_an_internal_address(
    world: World, listener: tuple[int, list[object]], clock: Clock, host: str
) -> None:
    # Registered while its name pointed elsewhere (or before this check existed); now it
    # resolves to loopback. The check at the connection refuses it.
    port, accepted = listener
    hook = subscribe(world, world.school, "https://lvs.school.example/hooks")
    with world.app.state.sessions() as session:
        session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == hook["id"])
            .values(url=f"https://{host}:{port}/hooks")
        )
        session.commit()
    signal(world)
    state = world.app.state
    production = Deliverer(state.sessions, state.exchanges.keyring, clock=clock)

    attempted = production.run_once()

    assert attempted >= 1
    assert accepted == []
    with state.sessions() as session:
        errors = set(session.scalars(select(WebhookAttempt.error)))
    assert errors == {"ConnectError"}
