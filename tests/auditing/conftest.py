"""The audit API tests act in the exchange tests' world; an audit store that refuses writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import migrated_database
from tests.exchanges.conftest import world

__all__ = ["world"]


@pytest.fixture
def refusing_audit_store(engine: Engine) -> Iterator[None]:
    """The audit store refuses writes (think: a full disk) for the length of the test."""
    create = {
        "postgresql": [
            "CREATE FUNCTION audit_full() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'no space left'; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER audit_full BEFORE INSERT ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_full()",
        ],
        "sqlite": [
            "CREATE TRIGGER audit_full BEFORE INSERT ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'no space left'); END"
        ],
    }[engine.dialect.name]
    drop = {
        "postgresql": ["DROP TRIGGER audit_full ON audit_entries", "DROP FUNCTION audit_full()"],
        "sqlite": ["DROP TRIGGER audit_full"],
    }[engine.dialect.name]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    yield
    with engine.begin() as connection:
        for statement in drop:
            connection.execute(text(statement))


@pytest.fixture
def second_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Another migrated database on the same server: a fork's, or a restored backup's."""
    with migrated_database(backend, tmp_path) as url:
        yield url
