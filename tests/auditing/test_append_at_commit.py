"""A transaction's entries are appended as it commits, after everything else it wrote: while
the log's head row is locked (the one step no two transactions of a cluster overlap in) only the
entries, the rows that name them by index and the commit happen. A webhook subscription makes
the create's commit handlers write too, so they are seen to come before. And an action whose
entries could not be appended never commits, however often its transaction is committed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from gateway.auditing.service import AuditUnavailableError
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.organisations.service import record_admin
from tests.exchanges.test_api import SIGNAL_FIELDS
from tests.exchanges.world import World
from tests.factories import TEST_ACTOR

WHILE_HELD = ("INSERT INTO AUDIT_ENTRIES", "INSERT INTO AUDIT_NODES", "SELECT AUDIT_NODES")


def statements_of(engine: Engine, call: Any) -> list[str]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", lambda _conn: seen.append("COMMIT"))
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_only_the_entries_and_what_names_them_are_written_while_the_head_is_locked(
    world: World,
) -> None:
    subscribed = world.client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["exchange.awaiting_delivery"]},
        headers=world.school.headers,  # the source: its queue gets the allowed signal
    )
    assert subscribed.status_code == 201, subscribed.text

    written = statements_of(
        world.app.state.engine,
        lambda: world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS),
    )

    locked = next(i for i, s in enumerate(written) if s.startswith("UPDATE AUDIT_HEAD"))
    committed = written.index("COMMIT", locked)
    before = " ".join(written[:locked])
    assert "INSERT INTO EXCHANGES" in before and "INSERT INTO WEBHOOK_MESSAGES" in before
    assert all(
        s.startswith(WHILE_HELD) or s.startswith("INSERT INTO DECISION_RECORDS")
        for s in written[locked + 1 : committed]
    ), written[locked:committed]
    assert any(s.startswith("INSERT INTO DECISION_RECORDS") for s in written[locked:committed])


def test_an_action_whose_entry_failed_never_commits_even_when_committed_again(
    session: Session, refusing_audit_store: None
) -> None:
    # As maintenance does when a run fails: it releases its lease in the same session, and
    # commits that.
    identifier = "88ZZ"
    organisation = Organisation(
        role=OrganisationRole.SCHOOL, name="Nooit Geregistreerd", identifier=identifier
    )
    session.add(organisation)
    record_admin(session, TEST_ACTOR, "admin.organisation.create", organisation)

    with pytest.raises(AuditUnavailableError):
        session.commit()
    with pytest.raises(AuditUnavailableError):
        session.commit()  # the same transaction, committed again
    session.rollback()

    assert session.query(Organisation).filter_by(identifier=identifier).count() == 0
