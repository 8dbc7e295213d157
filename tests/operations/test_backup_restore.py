"""Backup and restore of PostgreSQL with ``pg_dump``/``pg_restore``, as README's operations
section describes: after a restore the audit log verifies against the last checkpoint published
before the backup, a shredded payload stays shredded, and a kept payload still opens."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.cli import app as cli
from gateway.db import make_engine, make_sessionmaker
from gateway.exchanges import consent_answers
from gateway.exchanges.models import Payload
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL, drop_database, fresh_database_url
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, YOUNG, World, make_world

runner = CliRunner()


def libpq(url: str) -> str:
    """The SQLAlchemy URL as the PostgreSQL tools want it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def engine_of(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def databases(server_backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The live database (migrated) and an empty one to restore into."""
    from gateway import migrations

    live, restored = (fresh_database_url(server_backend, tmp_path) for _ in range(2))
    engine = make_engine(live)
    migrations.upgrade(engine)
    engine.dispose()
    yield live, restored
    for url in (live, restored):
        drop_database(url)


def settings_for(url: str, tmp_path: Path) -> Settings:
    # The same data_dir: the same (dev) keys for the live and the restored service.
    return Settings(
        environment="dev",
        data_dir=tmp_path / "var",
        database_url=url,
        public_url=PUBLIC_URL,
        maintenance_interval=0,
    )


def audit_verify(url: str, tmp_path: Path, *checkpoints: Path) -> tuple[int, str]:
    env = {"GATEWAY_DATABASE_URL": url, "GATEWAY_DATA_DIR": str(tmp_path / "var")}
    arguments = ["audit", "verify", *(f"--checkpoint={c}" for c in checkpoints)]
    result = runner.invoke(cli, arguments, env=env)
    return result.exit_code, result.output


def test_a_restored_backup_verifies_and_keeps_shredded_payloads_shredded(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    live, restored = databases
    with (
        engine_of(live) as engine,
        TestClient(create_app(settings_for(live, tmp_path)), base_url=PUBLIC_URL) as client,
        make_sessionmaker(engine)() as session,
    ):
        world = make_world(client, session)
        world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
        kept, revoked = (
            world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
            for _ in range(2)
        )
        for offer in (kept, revoked):
            world.grant_all(offer["id"])
            assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 200
        (consent,) = world.consents(revoked["id"])
        consent_answers.revoke_consent(world.exchanges, world.session, consent.id, consent.holder)
        before_backup = tmp_path / "before-backup.checkpoint"
        before_backup.write_text(client.get("/api/v1/audit/checkpoint").text)

        dump = tmp_path / "gateway.dump"
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", libpq(live)],
            check=True,
            capture_output=True,
        )

        # Life goes on after the backup: these entries will be lost by the restore.
        world.create(world.kinderopvang, world.other_school, "warme-overdracht", WARM_FIELDS)
        after_backup = tmp_path / "after-backup.checkpoint"
        after_backup.write_text(client.get("/api/v1/audit/checkpoint").text)
        school = world.school

    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq(restored)}", str(dump)],
        check=True,
        capture_output=True,
    )

    status, output = audit_verify(restored, tmp_path, before_backup)
    assert status == 0, output
    # A checkpoint published after the backup names entries the restore lost: the verifier
    # says so, rather than the log pretending nothing happened.
    status, output = audit_verify(restored, tmp_path, after_backup)
    assert status == 1
    assert "covers" in output

    with (
        engine_of(restored) as engine,
        TestClient(create_app(settings_for(restored, tmp_path)), base_url=PUBLIC_URL) as client,
        Session(engine) as session,
    ):
        row = session.get(Payload, revoked["id"])
        assert row is not None and row.wrapped_key is None and row.ciphertext is None
        world = World(client, session, client.app)  # type: ignore[arg-type]
        fetched = world.fetch(school, kept["id"])
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["fields"]["home_language"] == WARM_PAYLOAD["home_language"]
        assert world.fetch(school, revoked["id"]).status_code == 409
        # The restored log takes new entries and proves itself consistent with the old head.
        assert client.get("/api/v1/audit/checkpoint").status_code == 200
    assert audit_verify(restored, tmp_path, before_backup)[0] == 0
