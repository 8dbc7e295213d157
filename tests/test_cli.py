"""The gateway command: every command has --help, and org commands change the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gateway.cli import app
from gateway.exchanges.models import Payload
from gateway.exchanges.sealing import Sealed, WrappedKey, payload_context, unseal
from gateway.keys import load_keys
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import OrganisationStatus
from gateway.settings import Settings
from tests.factories import TEST_ACTOR

runner = CliRunner()

COMMANDS = [
    [],
    ["serve"],
    ["demo"],
    ["demo-token"],
    ["db"],
    ["db", "upgrade"],
    ["org"],
    ["org", "add"],
    ["org", "list"],
    ["org", "suspend"],
    ["org", "activate"],
    ["org", "add-key"],
    ["audit"],
    ["audit", "checkpoint"],
    ["audit", "export"],
    ["audit", "verify"],
    ["decisions"],
    ["decisions", "replay"],
    ["keys"],
    ["keys", "rotate"],
    ["maintenance"],
    ["maintenance", "run"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "gateway")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
    }


def test_org_add_with_key_then_list_and_suspend(
    env: dict[str, str], session: Session, tmp_path: Path
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(key.as_pem(private=False))

    added = runner.invoke(
        app,
        [
            "org",
            "add",
            "--role",
            "school",
            "--name",
            "OBS De Linde",
            "--identifier",
            "21xy",
            "--key-file",
            str(key_file),
        ],
        env=env,
    )
    assert added.exit_code == 0, added.output
    organisation_id = added.output.split()[0]

    listed = runner.invoke(app, ["org", "list", "--role", "school"], env=env)
    assert "OBS De Linde" in listed.output and "21XY" in listed.output

    suspended = runner.invoke(app, ["org", "suspend", organisation_id], env=env)
    assert suspended.exit_code == 0, suspended.output
    organisation = service.get_organisation(session, organisation_id)
    assert organisation.status == OrganisationStatus.SUSPENDED
    assert [k.kid for k in organisation.keys] == [key.thumbprint()]


def test_org_add_key_reads_a_jwk_file(
    env: dict[str, str], session: Session, tmp_path: Path
) -> None:
    organisation = service.register_organisation(
        session,
        actor=TEST_ACTOR,
        role=OrganisationRole.LEERPLICHT,
        name="Leerplicht Zeist",
        identifier="GM0355",
    )
    key = ECKey.generate_key("P-256", private=True)
    jwk_file = tmp_path / "key.jwk"
    jwk_file.write_text(json.dumps(key.as_dict(private=False)))

    result = runner.invoke(app, ["org", "add-key", organisation.id, str(jwk_file)], env=env)

    assert result.exit_code == 0, result.output
    session.expire_all()
    assert len(service.get_organisation(session, organisation.id).keys) == 1


def test_bad_input_is_a_clear_error_not_a_traceback(env: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["org", "add", "--role", "swv", "--name", "SWV", "--identifier", "nope"], env=env
    )

    assert result.exit_code == 1
    assert "error:" in result.output
    assert "PO or VO" in result.output
    assert "Traceback" not in result.output


def test_private_key_file_is_refused(env: dict[str, str], session: Session, tmp_path: Path) -> None:
    organisation = service.register_organisation(
        session, actor=TEST_ACTOR, role=OrganisationRole.SWV, name="SWV De Eem", identifier="PO2603"
    )
    private = tmp_path / "private.pem"
    private.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))

    result = runner.invoke(app, ["org", "add-key", organisation.id, str(private)], env=env)

    assert result.exit_code == 1
    assert "private key" in result.output


def test_demo_registers_every_role_and_writes_private_credentials(
    env: dict[str, str], session: Session, settings: Settings
) -> None:
    first = runner.invoke(app, ["demo"], env=env)
    second = runner.invoke(app, ["demo"], env=env)  # idempotent

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    for told in [
        "now: awaiting_delivery, fields ['development_summary', 'home_language', "
        "'vve_participation']",
        "stripped before storage: social_emotional_notes",
        "stripped before storage: current_address",
        "is now withdrawn and its payload shredded",
        "Leerplicht Gemeente Utrecht received:",
        '"signal_type": "absence"',
    ]:
        assert told in second.output, told
    assert "100000009" not in first.output  # the demo children's BSNs are never printed
    path = settings.data_dir / "demo-credentials.json"
    assert str(path) in first.output
    assert path.stat().st_mode & 0o077 == 0
    roles = {o.role for o in service.list_organisations(session)}
    assert roles == set(OrganisationRole)
    assert all(len(o.keys) == 1 for o in service.list_organisations(session))


def test_demo_refuses_in_production(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["demo"], env=env | {"GATEWAY_ENVIRONMENT": "production"})

    assert result.exit_code == 1
    assert "only in dev" in result.output


def test_keys_rotate_in_dev_rewraps_under_a_new_master_key(
    env: dict[str, str], settings: Settings, session: Session
) -> None:
    assert runner.invoke(app, ["demo"], env=env).exit_code == 0

    unshredded = sum(1 for p in session.scalars(select(Payload)) if not p.shredded)
    assert unshredded >= 4  # warme overdracht, the placement, signals, the exemption answer

    first = runner.invoke(app, ["keys", "rotate"], env=env)
    second = runner.invoke(app, ["keys", "rotate"], env=env)

    assert first.exit_code == 0, first.output
    assert f"re-wrapped {unshredded} data keys" in first.output  # every unshredded payload
    assert f"re-wrapped {unshredded} data keys" in second.output
    session.expire_all()
    stored = json.loads((settings.data_dir / "keys.json").read_text())
    assert stored["payload_master_keys"].count(":") == 3  # the new ones in front of the first
    keyring = load_keys(settings).payload_master_keys
    live = [p for p in session.scalars(select(Payload)) if not p.shredded]
    assert {p.key_id for p in live} == {keyring.current_id}
    for row in live:
        assert row.key_id and row.wrapped_key and row.ciphertext
        sealed = Sealed(WrappedKey(row.key_id, row.wrapped_key), row.ciphertext)
        assert json.loads(unseal(keyring, sealed, payload_context(row.exchange_id)))


def test_maintenance_run_reports_what_it_did(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["maintenance", "run"], env=env)

    assert result.exit_code == 0, result.output
    assert "consents expired: 0, exchanges expired: 0, payloads shredded: 0" in result.output


def test_maintenance_run_waits_for_nobody_but_a_run_under_way(
    env: dict[str, str], session: Session
) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway import leases
    from gateway.exchanges.maintenance import MAINTENANCE_LEASE

    now = datetime.now(UTC)
    leases.acquire(session, MAINTENANCE_LEASE, now, timedelta(minutes=5), holder="replica-2")

    busy = runner.invoke(app, ["maintenance", "run"], env=env)
    leases.release(session, MAINTENANCE_LEASE, datetime.now(UTC), holder="replica-2")
    free = runner.invoke(app, ["maintenance", "run"], env=env)

    assert busy.exit_code == 1 and "running elsewhere (replica-2)" in busy.output
    assert "consents expired" not in busy.output
    assert free.exit_code == 0, free.output


def test_maintenance_after_the_demo_raises_no_alert_twice(
    env: dict[str, str], session: Session
) -> None:
    from gateway.signals.models import AtHomeAlert

    assert runner.invoke(app, ["demo"], env=env).exit_code == 0
    raised = len(session.scalars(select(AtHomeAlert)).all())
    assert raised == 2  # the demo's exempted child, to leerplicht and to the SWV

    result = runner.invoke(app, ["maintenance", "run"], env=env)

    assert result.exit_code == 0, result.output
    assert "at-home alerts raised: 0" in result.output
    assert "signals and exemptions erased: 0" in result.output  # all within retention
    again = runner.invoke(app, ["maintenance", "run"], env=env)
    assert "school years closed: 0," in again.output  # a year is closed once


def test_org_add_takes_a_gemeente_or_a_region(env: dict[str, str], session: Session) -> None:
    swv = ["org", "add", "--role", "swv", "--name", "SWV Vecht", "--identifier", "VO2703"]
    school = ["org", "add", "--role", "school", "--name", "De Linde", "--identifier", "45EF"]

    added = runner.invoke(app, [*swv, "--region", "1904", "--region", "GM0344"], env=env)
    placed = runner.invoke(app, [*school, "--gemeente", "GM0344"], env=env)
    wrong = runner.invoke(app, [*school[:-1], "46EF", "--region", "GM0344"], env=env)

    assert added.exit_code == 0 and placed.exit_code == 0, added.output + placed.output
    found = service.find_by_identifier(session, OrganisationRole.SWV, "VO2703")
    assert found is not None and found.region_codes == ["GM0344", "GM1904"]
    linde = service.find_by_identifier(session, OrganisationRole.SCHOOL, "45EF")
    assert linde is not None and linde.gemeente_code == "GM0344"
    assert wrong.exit_code != 0 and "region" in wrong.output
