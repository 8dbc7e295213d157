"""The gateway command: every command has --help, and org commands change the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gateway.cli import app
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
