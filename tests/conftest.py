"""Fixtures: every database test runs on SQLite and on PostgreSQL.

``backend`` is parametrised from ``--db`` (default: both). PostgreSQL comes from
``GATEWAY_TEST_POSTGRES_URL`` (scripts/test starts a server and sets it); a session creates its
own database there and drops it at the end. Tables are emptied before each test.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, make_url, text, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from audit import tables as audit_tables
from audit.tables import drop_immutability_ddl, immutability_ddl
from audit.tables import metadata as audit_metadata
from gateway import migrations
from gateway.app import create_app
from gateway.db import make_engine, make_sessionmaker
from gateway.models import metadata
from gateway.organisations.registry import registry_of
from gateway.settings import Settings
from gateway.wiring import register_commit_handlers

BACKENDS = ("sqlite", "postgresql")
PUBLIC_URL = "http://127.0.0.1:8000"
register_commit_handlers()  # as the app and the CLI do: the tests make sessions of their own


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=",".join(BACKENDS),
        help="Comma-separated database backends to run database tests on (sqlite,postgresql).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = [b for b in metafunc.config.getoption("--db").split(",") if b]
    if "backend" in metafunc.fixturenames:
        unknown = set(chosen) - set(BACKENDS)
        if unknown:
            raise pytest.UsageError(f"unknown --db backend(s): {', '.join(sorted(unknown))}")
        metafunc.parametrize("backend", chosen, scope="session")
    if "server_backend" in metafunc.fixturenames:  # tests of a database *server* (outages)
        metafunc.parametrize("server_backend", [b for b in chosen if b == "postgresql"])


def fresh_database_url(backend: str, directory: Path) -> str:
    """A new, empty database on the backend, for one session or one migration test."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
    admin_url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.fail(
            "GATEWAY_TEST_POSTGRES_URL is not set: run scripts/test, which starts PostgreSQL, "
            "or pass --db sqlite"
        )
    name = f"kk_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def migrated_database(backend: str, directory: Path) -> Iterator[str]:
    """A new database at the latest migration, dropped when the block ends."""
    url = fresh_database_url(backend, directory)
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_database(url)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    # FORCE ends the connections left in it; a role without pg_signal_backend (scripts/postgres
    # grants it) cannot end an autovacuum worker busy there, which is done a moment later.
    drop = text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    for attempt in range(10):
        try:
            with admin.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(drop)
            break
        except ProgrammingError:
            if attempt == 9:
                raise
            time.sleep(1)
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = fresh_database_url(backend, tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    drop_database(url)


def empty_all_tables(engine: Engine) -> None:
    """Start each test from empty tables; the audit log's triggers are lifted for it only."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in drop_immutability_ddl(dialect):
            connection.execute(text(statement))
        for table in [*reversed(metadata.sorted_tables), *reversed(audit_metadata.sorted_tables)]:
            if table is not audit_tables.head:
                connection.execute(delete(table))
        connection.execute(update(audit_tables.head).values(size=0))
        for statement in immutability_ddl(dialect):
            connection.execute(text(statement))
    registry_of(engine).clear()  # the rows it held copies of are gone


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    empty_all_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str, engine: Engine) -> Settings:
    return Settings(
        environment="dev",
        data_dir=tmp_path / "var",
        database_url=database_url,
        public_url=PUBLIC_URL,
        maintenance_interval=0,  # tests run maintenance themselves, with a clock they control
        outbox_interval=0,  # and send webhooks themselves
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=PUBLIC_URL) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, session: Session) -> dict[str, str]:
    """Authorization headers of a gateway operator (admin scope)."""
    from gateway.organisations.identifiers import OrganisationRole
    from tests.factories import access_token, bearer, register

    return bearer(access_token(client, register(session, OrganisationRole.GATEWAY)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.tally import LINES, TALLY

    if not TALLY:
        return
    terminalreporter.section("security and reliability")
    for key, label in LINES:
        if key in TALLY or key == "entries_lost":
            terminalreporter.write_line(f"{TALLY[key]:>8}  {label}")
