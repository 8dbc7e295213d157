"""Secrets: generated once in dev (mode 0600), required in production."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc.jwk import ECKey
from pydantic import SecretStr

from gateway.app import create_app
from gateway.keys import InvalidSecretError, MissingSecretsError, _generate_ec_pem, load_keys
from gateway.settings import Settings


def production_secrets() -> dict[str, str]:
    return {
        "token_signing_key": ECKey.generate_key("P-256", private=True)
        .as_pem(private=True)
        .decode(),
        "pseudonymisation_key": base64.b64encode(b"p" * 32).decode(),
        "checkpoint_signing_key": Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode(),
        "payload_master_keys": "mk-test:" + base64.b64encode(b"m" * 32).decode(),
        "session_secret": base64.b64encode(b"s" * 32).decode(),
    }


def test_dev_generates_a_key_file_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(environment="dev", data_dir=tmp_path)

    first = load_keys(settings)
    second = load_keys(settings)

    key_file = tmp_path / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.token_signing_kid == second.token_signing_kid
    assert first.pseudonymisation_key == second.pseudonymisation_key
    assert len(first.pseudonymisation_key) == 32


def test_explicit_dev_secrets_win_over_the_key_file(tmp_path: Path) -> None:
    keys = load_keys(Settings(data_dir=tmp_path, **production_secrets()))

    assert keys.pseudonymisation_key == b"p" * 32
    assert not (tmp_path / "keys.json").exists()


def test_a_secret_added_later_is_added_to_an_existing_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    first = load_keys(Settings(data_dir=tmp_path))
    stored = json.loads(key_file.read_text())
    del stored["checkpoint_signing_key"]  # a key file from before checkpoints existed
    key_file.write_text(json.dumps(stored))

    second = load_keys(Settings(data_dir=tmp_path))

    assert second.token_signing_kid == first.token_signing_kid
    assert "checkpoint_signing_key" in json.loads(key_file.read_text())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_production_refuses_to_start_and_names_what_is_missing(tmp_path: Path) -> None:
    settings = Settings(environment="production", data_dir=tmp_path)

    with pytest.raises(MissingSecretsError) as refused:
        create_app(settings)

    assert refused.value.names == [
        "GATEWAY_TOKEN_SIGNING_KEY",
        "GATEWAY_PSEUDONYMISATION_KEY",
        "GATEWAY_CHECKPOINT_SIGNING_KEY",
        "GATEWAY_PAYLOAD_MASTER_KEYS",
        "GATEWAY_SESSION_SECRET",
        "GATEWAY_DATABASE_URL",
    ]
    assert not (tmp_path / "keys.json").exists()


def test_production_with_every_secret_starts(tmp_path: Path) -> None:
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        **production_secrets(),
    )

    app = create_app(settings)

    assert app.state.settings.environment == "production"
    assert not (tmp_path / "keys.json").exists()


def test_production_with_an_identity_provider_needs_the_portal_client_secret(
    tmp_path: Path,
) -> None:
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        oidc_issuer="https://login.example.org",
        **production_secrets(),
    )

    with pytest.raises(MissingSecretsError) as refused:
        create_app(settings)

    assert refused.value.names == ["GATEWAY_OIDC_CLIENT_SECRET"]
    assert create_app(settings.model_copy(update={"oidc_client_secret": SecretStr("s")}))


def test_settings_come_from_gateway_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_ACCESS_TOKEN_LIFETIME", "120")

    settings = Settings()

    assert settings.environment == "production"
    assert settings.access_token_lifetime == 120


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("token_signing_key", "not a pem", "not a PEM EC private key"),
        ("pseudonymisation_key", "***", "not base64"),
        ("pseudonymisation_key", base64.b64encode(b"short").decode(), "at least 32 bytes"),
        ("checkpoint_signing_key", _generate_ec_pem(), "must be an Ed25519 key"),
        ("payload_master_keys", "no-colon", "<id>:<base64>"),
        ("payload_master_keys", "mk:***", "not base64"),
        ("payload_master_keys", "mk:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
        ("payload_master_keys", "bad id!:" + base64.b64encode(b"k" * 32).decode(), "<id>:<base64>"),
        (
            "payload_master_keys",
            ",".join(["mk:" + base64.b64encode(b"k" * 32).decode()] * 2),
            "must be unique",
        ),
    ],
)
def test_unusable_secrets_are_named(tmp_path: Path, field: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSecretError, match=message):
        load_keys(Settings(data_dir=tmp_path, **{field: value}))
