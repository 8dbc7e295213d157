"""The registry's copies on the request path: served without a statement, cleared by the commit
that changes them, never holding what a transaction had not committed, bounded by their
lifetime when a change comes behind their back, and, on PostgreSQL, cleared in another process
by the NOTIFY the changing transaction sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.db import make_engine, make_sessionmaker
from gateway.organisations import service
from gateway.organisations.models import Organisation, OrganisationStatus
from gateway.organisations.registry import Listener, RegistryCache, registry_of
from gateway.staff.service import find_registered, remove_staff
from tests.conftest import migrated_database
from tests.factories import TEST_ACTOR, TEST_STAFF_ID, register


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` while the test runs."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def lookup(engine: Engine, organisation_id: str) -> Organisation | None:
    with make_sessionmaker(engine)() as session:
        return service.find_organisation(session, organisation_id)


def test_a_copy_is_served_without_a_statement_and_each_session_gets_its_own(
    engine: Engine, session: Session, statements: list[str]
) -> None:
    school = register(session)
    first = lookup(engine, school.organisation_id)
    statements.clear()

    with make_sessionmaker(engine)() as other:
        again = service.find_organisation(other, school.organisation_id)
        assert again is not None
        kids = [key.kid for key in again.keys]  # held with it, as the token endpoint reads them
        certificates = list(again.certificates)
        again.name = "Changed in this session only"  # never committed
        again.keys[0].jwk["kid"] = "changed too"
        assert not [s for s in statements if "organisation" in s]
    third = lookup(engine, school.organisation_id)

    assert first is not None and third is not None
    assert kids == [school.key.kid] and certificates == []
    assert third.name == first.name != "Changed in this session only"
    assert third is not again
    assert third.keys[0].jwk["kid"] == school.key.kid


def test_a_removed_key_is_gone_from_the_copy_at_once(engine: Engine, session: Session) -> None:
    school = register(session)
    held = lookup(engine, school.organisation_id)
    assert held is not None and [k.kid for k in held.keys] == [school.key.kid]

    service.remove_key(session, school.organisation_id, school.key.kid, actor=TEST_ACTOR)
    after = lookup(engine, school.organisation_id)

    assert after is not None and after.keys == []


def test_a_suspension_and_a_staff_removal_take_effect_in_this_process_at_once(
    engine: Engine, session: Session
) -> None:
    school = register(session)
    with make_sessionmaker(engine)() as warm:
        assert find_registered(warm, school.organisation_id, TEST_STAFF_ID) is not None
    before = lookup(engine, school.organisation_id)

    service.set_status(
        session, school.organisation_id, OrganisationStatus.SUSPENDED, actor=TEST_ACTOR
    )
    remove_staff(session, Actor(type="client", id=school.organisation_id), TEST_STAFF_ID)
    after = lookup(engine, school.organisation_id)

    assert before is not None and before.is_active
    assert after is not None and not after.is_active
    with make_sessionmaker(engine)() as fresh:
        assert find_registered(fresh, school.organisation_id, TEST_STAFF_ID) is None


def test_what_a_transaction_had_not_committed_is_never_held(
    engine: Engine, session: Session
) -> None:
    school = register(session)
    with make_sessionmaker(engine)() as changing:
        changing.execute(
            update(Organisation)
            .where(Organisation.id == school.organisation_id)
            .values(status=OrganisationStatus.SUSPENDED)
        )
        seen_inside = service.find_organisation(changing, school.organisation_id)
        assert seen_inside is not None and not seen_inside.is_active
        meanwhile = lookup(engine, school.organisation_id)  # another request, before the end
        changing.rollback()
    afterwards = lookup(engine, school.organisation_id)

    assert meanwhile is not None and meanwhile.is_active
    assert afterwards is not None and afterwards.is_active


def test_a_change_behind_the_copies_back_shows_once_their_lifetime_is_over(
    engine: Engine, session: Session
) -> None:
    school = register(session)
    registry = registry_of(engine)
    clock = Clock()
    registry.clock, lifetime = clock, registry.lifetime
    try:
        lookup(engine, school.organisation_id)  # held from now
        with engine.begin() as connection:  # not through a session: nothing clears the copy
            connection.execute(
                update(Organisation)
                .where(Organisation.id == school.organisation_id)
                .values(status=OrganisationStatus.SUSPENDED)
            )
        clock.now += lifetime * 0.9
        within = lookup(engine, school.organisation_id)
        clock.now += lifetime * 0.2
        past = lookup(engine, school.organisation_id)
    finally:
        registry.clock = time.monotonic

    assert within is not None and within.is_active  # the bound is the lifetime, no more
    assert past is not None and not past.is_active


@pytest.fixture
def server_engine(server_backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own on the server (LISTEN/NOTIFY is PostgreSQL's)."""
    with migrated_database(server_backend, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_another_processes_change_reaches_a_listening_copy_through_notify(
    server_engine: Engine,
) -> None:
    engine = server_engine
    with make_sessionmaker(engine)() as setup:
        school, other = register(setup), register(setup)
    # A copy no commit of this process clears and that never expires: only a notification
    # can clear it, as for another replica's copy.
    elsewhere = RegistryCache(lifetime=3600)
    cleared = threading.Semaphore(0)
    clear = elsewhere.clear

    def counted_clear() -> None:
        clear()
        cleared.release()

    elsewhere.clear = counted_clear  # type: ignore[method-assign]
    listener = Listener(engine, elsewhere)
    listener.start()
    try:
        assert listener.listening.wait(10)
        assert cleared.acquire(timeout=10)  # the clear at connect
        with make_sessionmaker(engine)() as reading:
            assert elsewhere.organisation(reading, school.organisation_id) is not None

        with make_sessionmaker(engine)() as undone:  # changed, then rolled back: no notification
            found = service.find_organisation(undone, other.organisation_id)
            assert found is not None
            found.status = OrganisationStatus.SUSPENDED
            undone.flush()
            undone.rollback()
        with make_sessionmaker(engine)() as changing:
            service.set_status(
                changing, school.organisation_id, OrganisationStatus.SUSPENDED, actor=TEST_ACTOR
            )

        assert cleared.acquire(timeout=10)  # the committed change's notification
        with make_sessionmaker(engine)() as reading:
            now = elsewhere.organisation(reading, school.organisation_id)
            assert now is not None and not now.is_active
        # Notifications come in commit order: had the rollback sent one, it came first, and
        # the commit's would be a second.
        assert not cleared.acquire(timeout=1)
    finally:
        listener.stop()
