"""Export, then verify offline with nothing but the files: ``python -m audit verify DIR``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gateway.cli import app
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.factories import register

runner = CliRunner()


def offline_verify(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit", "verify", str(directory), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def exported(settings: Settings, session: Session, tmp_path: Path) -> Path:
    for role in OrganisationRole:
        register(session, role)  # each registration writes admin.* entries
    env = {
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
    }
    out = tmp_path / "export"
    result = runner.invoke(app, ["audit", "export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    online = runner.invoke(app, ["audit", "verify"], env=env)
    assert online.exit_code == 0, online.output
    return out


def test_an_honest_export_verifies_offline(exported: Path) -> None:
    result = offline_verify(exported)

    assert result.returncode == 0, result.stderr
    assert "10 entries, 1 checkpoints" in result.stdout
    assert "OK" in result.stdout


def test_one_changed_byte_in_an_entry_fails_and_names_it(exported: Path) -> None:
    lines = (exported / "entries.jsonl").read_text().splitlines()
    record = json.loads(lines[3])
    leaf = bytearray(base64.b64decode(record["leaf"]))
    leaf[leaf.index(b"success")] ^= 0x20  # "success" -> "Success"
    record["leaf"] = base64.b64encode(bytes(leaf)).decode()
    lines[3] = json.dumps(record)
    (exported / "entries.jsonl").write_text("\n".join(lines) + "\n")

    result = offline_verify(exported)

    assert result.returncode == 1
    assert "first bad index: 3" in result.stderr


def test_a_dropped_entry_fails(exported: Path) -> None:
    lines = (exported / "entries.jsonl").read_text().splitlines()
    (exported / "entries.jsonl").write_text("\n".join(lines[:5] + lines[6:]) + "\n")

    result = offline_verify(exported)

    assert result.returncode == 1
    assert "entry 5 is missing" in result.stderr


def test_a_re_signed_export_fails_against_the_published_key(exported: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.note import Signer

    published = (exported / "verifier-key.txt").read_text().strip()
    forger = Signer(published.split("+")[0], Ed25519PrivateKey.generate())
    (exported / "verifier-key.txt").write_text(forger.verifier.encode() + "\n")

    assert offline_verify(exported).returncode == 1  # the export's own key is now wrong
    assert offline_verify(exported, "--verifier-key", published).returncode == 0
