"""Migrations run identically on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from gateway import migrations
from gateway.db import make_engine
from gateway.models import all_metadata
from tests.conftest import drop_database, fresh_database_url


@pytest.fixture
def empty_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    url = fresh_database_url(backend, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


def test_upgrade_creates_the_schema_the_models_describe(empty_engine: Engine) -> None:
    assert not migrations.is_up_to_date(empty_engine)

    migrations.upgrade(empty_engine)

    assert migrations.is_up_to_date(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, list(all_metadata)) == []  # type: ignore[arg-type]


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    migrations.downgrade(empty_engine, "base")

    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    migrations.upgrade(empty_engine)
    tables = {t.name for m in all_metadata for t in m.sorted_tables}
    assert tables <= set(inspect(empty_engine).get_table_names())


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    migrations.upgrade(empty_engine)

    assert migrations.current_revision(empty_engine) == migrations.head_revision()


def _upgrade_in_a_process(url: str) -> str:
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
    except Exception as exc:  # reported to the test, which names it
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return "ok"


def test_processes_that_migrate_at_once_migrate_once(backend: str, tmp_path: Path) -> None:
    # Two workers in dev, or replicas told to migrate at start, start together: without the
    # migration lock, about half of such starts failed with "table ... already exists".
    spawn = multiprocessing.get_context("spawn")
    for _ in range(3):
        url = fresh_database_url(backend, tmp_path)
        try:
            with spawn.Pool(3) as pool:
                outcomes = pool.map(_upgrade_in_a_process, [url] * 3)
            engine = make_engine(url)
            up_to_date = migrations.is_up_to_date(engine)
            engine.dispose()
        finally:
            drop_database(url)

        assert outcomes == ["ok"] * 3
        assert up_to_date
