"""The gateway's own secrets, resolved from settings into key objects.

In production every secret must come from the environment (a secret store injects it) and the
service refuses to start, naming what is missing. In dev, missing secrets are generated once
into ``<data_dir>/keys.json`` with mode 0600 and reused on the next start, so a developer's
tokens and pseudonyms stay stable across restarts without anyone pasting keys around.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey

from gateway.settings import Settings

KEY_FILE_NAME = "keys.json"
PSEUDONYMISATION_KEY_BYTES = 32


class MissingSecretsError(RuntimeError):
    """Production start without the secrets it needs."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            "refusing to start in production without: "
            + ", ".join(names)
            + " (set them in the environment; see .env.example)"
        )


class InvalidSecretError(RuntimeError):
    """A secret is present but cannot be used."""


@dataclass(frozen=True)
class GatewayKeys:
    token_signing_key: ECKey
    pseudonymisation_key: bytes

    @property
    def token_signing_kid(self) -> str:
        return str(self.token_signing_key.kid)


def load_keys(settings: Settings) -> GatewayKeys:
    """Return the gateway's keys, generating dev ones when absent."""
    signing_pem = _secret(settings.token_signing_key)
    pseudonym_b64 = _secret(settings.pseudonymisation_key)

    if settings.environment == "production":
        missing = [
            name
            for name, value in (
                ("GATEWAY_TOKEN_SIGNING_KEY", signing_pem),
                ("GATEWAY_PSEUDONYMISATION_KEY", pseudonym_b64),
                ("GATEWAY_DATABASE_URL", settings.database_url),
            )
            if not value
        ]
        if missing:
            raise MissingSecretsError(missing)
    elif signing_pem is None or pseudonym_b64 is None:
        stored = _dev_key_file(settings.data_dir / KEY_FILE_NAME)
        signing_pem = signing_pem or stored["token_signing_key"]
        pseudonym_b64 = pseudonym_b64 or stored["pseudonymisation_key"]

    assert signing_pem is not None and pseudonym_b64 is not None
    return GatewayKeys(
        token_signing_key=_parse_signing_key(signing_pem),
        pseudonymisation_key=_parse_pseudonymisation_key(pseudonym_b64),
    )


def _secret(value: object) -> str | None:
    if value is None:
        return None
    text: str = value.get_secret_value()  # type: ignore[attr-defined]
    return text or None


def _dev_key_file(path: Path) -> dict[str, str]:
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    generated = {
        "token_signing_key": ECKey.generate_key("P-256", private=True)
        .as_pem(private=True)
        .decode("ascii"),
        "pseudonymisation_key": base64.b64encode(
            secrets.token_bytes(PSEUDONYMISATION_KEY_BYTES)
        ).decode("ascii"),
    }
    # O_EXCL: two processes starting at once must not both write; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _dev_key_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(generated, handle)
    return generated


def _parse_signing_key(pem: str) -> ECKey:
    try:
        key = ECKey.import_key(pem)
    except (ValueError, TypeError) as exc:
        raise InvalidSecretError("GATEWAY_TOKEN_SIGNING_KEY is not a PEM EC private key") from exc
    if not key.is_private or key.curve_name != "P-256":
        raise InvalidSecretError("GATEWAY_TOKEN_SIGNING_KEY must be a P-256 private key")
    key.ensure_kid()
    return key


def _parse_pseudonymisation_key(encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecretError("GATEWAY_PSEUDONYMISATION_KEY is not base64") from exc
    if len(raw) < PSEUDONYMISATION_KEY_BYTES:
        raise InvalidSecretError(
            f"GATEWAY_PSEUDONYMISATION_KEY must be at least {PSEUDONYMISATION_KEY_BYTES} bytes"
        )
    return raw
