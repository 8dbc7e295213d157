"""The gateway's own secrets, resolved from settings into key objects.

In production every secret must come from the environment (a secret store injects it) and the
service refuses to start, naming what is missing. In dev, missing secrets are generated once
into ``<data_dir>/keys.json`` with mode 0600 and reused on the next start (a secret added in a
later version is added to the file), so a developer's tokens, pseudonyms and checkpoints stay
stable across restarts without anyone pasting keys around.

Rotation keeps what an old key signed valid: retired token keys and retired checkpoint verifier
keys are public material (``GATEWAY_TOKEN_RETIRED_KEYS``, ``GATEWAY_CHECKPOINT_RETIRED_KEYS``)
that only verifies, never signs; payload master keys rotate by re-wrapping (``gateway keys
rotate``). The README's key rotation section has the procedures.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from audit.note import NoteError, Signer, Verifier
from gateway.exchanges.sealing import KEY_BYTES, MasterKeyring
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
    checkpoint_signing_key: Ed25519PrivateKey
    payload_master_keys: MasterKeyring
    session_secret: bytes
    token_retired_keys: tuple[ECKey, ...] = ()
    checkpoint_retired_keys: tuple[Verifier, ...] = ()

    @property
    def token_signing_kid(self) -> str:
        return str(self.token_signing_key.kid)

    def checkpoint_signer(self, origin: str) -> Signer:
        return Signer(origin, self.checkpoint_signing_key, self.checkpoint_retired_keys)


@dataclass(frozen=True)
class _Secret:
    setting: str  # attribute of Settings, and (upper-cased, prefixed) its variable
    generate: Callable[[], str]
    parse: Callable[[str], Any]

    @property
    def variable(self) -> str:
        return f"GATEWAY_{self.setting.upper()}"


def _generate_ec_pem() -> str:
    return ECKey.generate_key("P-256", private=True).as_pem(private=True).decode("ascii")


def _generate_random_b64() -> str:
    return base64.b64encode(secrets.token_bytes(PSEUDONYMISATION_KEY_BYTES)).decode("ascii")


def _generate_ed25519_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode("ascii")
    )


def _parse_signing_key(pem: str) -> ECKey:
    try:
        key = ECKey.import_key(pem)
    except (ValueError, TypeError, JoseError) as exc:
        raise InvalidSecretError("GATEWAY_TOKEN_SIGNING_KEY is not a PEM EC private key") from exc
    if not key.is_private or key.curve_name != "P-256":
        raise InvalidSecretError("GATEWAY_TOKEN_SIGNING_KEY must be a P-256 private key")
    key.ensure_kid()
    return key


def _parse_random(setting: str, encoded: str) -> bytes:
    variable = f"GATEWAY_{setting.upper()}"
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecretError(f"{variable} is not base64") from exc
    if len(raw) < PSEUDONYMISATION_KEY_BYTES:
        raise InvalidSecretError(f"{variable} must be at least {PSEUDONYMISATION_KEY_BYTES} bytes")
    return raw


def _parse_checkpoint_key(pem: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidSecretError("GATEWAY_CHECKPOINT_SIGNING_KEY is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidSecretError("GATEWAY_CHECKPOINT_SIGNING_KEY must be an Ed25519 key")
    return key


def new_master_key() -> str:
    """A fresh payload master key as ``<id>:<base64>``; the id names it in every wrapped key."""
    key_id = f"mk-{secrets.token_hex(4)}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


def _parse_master_keys(text: str) -> MasterKeyring:
    """``id:base64[,id:base64...]``; the first key wraps new data keys, the rest only unwrap."""
    keys = []
    for item in text.split(","):
        key_id, colon, encoded = item.strip().partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key_id):
            raise InvalidSecretError("GATEWAY_PAYLOAD_MASTER_KEYS: each key is <id>:<base64>")
        try:
            keys.append((key_id, base64.b64decode(encoded, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise InvalidSecretError(
                f"GATEWAY_PAYLOAD_MASTER_KEYS: {key_id} is not base64"
            ) from exc
    try:
        return MasterKeyring(tuple(keys))
    except ValueError as exc:
        raise InvalidSecretError(f"GATEWAY_PAYLOAD_MASTER_KEYS: {exc}") from exc


_SECRETS = (
    _Secret("token_signing_key", _generate_ec_pem, _parse_signing_key),
    _Secret(
        "pseudonymisation_key", _generate_random_b64, partial(_parse_random, "pseudonymisation_key")
    ),
    _Secret("checkpoint_signing_key", _generate_ed25519_pem, _parse_checkpoint_key),
    _Secret("payload_master_keys", new_master_key, _parse_master_keys),
    _Secret("session_secret", _generate_random_b64, partial(_parse_random, "session_secret")),
)


def generate_secrets(names: list[str] | None = None) -> dict[str, str]:
    """Fresh values for the gateway's secrets (or the ones named by setting), by variable."""
    chosen = [s for s in _SECRETS if names is None or s.setting in names]
    return {s.variable: s.generate() for s in chosen}


SECRET_SETTINGS = tuple(s.setting for s in _SECRETS)


def production_requirements(settings: Settings) -> list[str]:
    """The variables a production start needs and ``settings`` lacks (all of them for an
    empty Settings): every secret, the database, and the portal's client secret when an
    identity provider is configured."""
    missing = [s.variable for s in _SECRETS if not _secret(getattr(settings, s.setting))]
    if not settings.database_url:
        missing.append("GATEWAY_DATABASE_URL")
    if settings.oidc_issuer and not _secret(settings.oidc_client_secret):
        missing.append("GATEWAY_OIDC_CLIENT_SECRET")
    return missing


def load_keys(settings: Settings) -> GatewayKeys:
    """Return the gateway's keys, generating dev ones when absent."""
    values = {s.setting: _secret(getattr(settings, s.setting)) for s in _SECRETS}
    if settings.environment == "production":
        missing = production_requirements(settings)
        if missing:
            raise MissingSecretsError(missing)
    elif not all(values.values()):
        stored = _dev_key_file(settings.data_dir / KEY_FILE_NAME)
        values = {name: value or stored[name] for name, value in values.items()}
    parsed = {s.setting: s.parse(str(values[s.setting])) for s in _SECRETS}
    return GatewayKeys(
        **parsed,
        token_retired_keys=_parse_retired_token_keys(settings.token_retired_keys or ""),
        checkpoint_retired_keys=_parse_retired_checkpoint_keys(
            settings.checkpoint_retired_keys or ""
        ),
    )


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def _parse_retired_token_keys(text: str) -> tuple[ECKey, ...]:
    """Every PEM block in ``text`` as a public P-256 key (a private key gives its public half)."""
    keys = []
    for block in _PEM_BLOCK.finditer(text):
        try:
            key = ECKey.import_key(block.group(0))
        except (ValueError, TypeError, JoseError) as exc:
            raise InvalidSecretError("GATEWAY_TOKEN_RETIRED_KEYS: a key is not EC") from exc
        if key.curve_name != "P-256":
            raise InvalidSecretError("GATEWAY_TOKEN_RETIRED_KEYS must hold P-256 keys")
        public = ECKey.import_key(key.as_dict(private=False))
        public.ensure_kid()
        keys.append(public)
    if text.strip() and not keys:
        raise InvalidSecretError("GATEWAY_TOKEN_RETIRED_KEYS holds no PEM key")
    return tuple(keys)


def _parse_retired_checkpoint_keys(text: str) -> tuple[Verifier, ...]:
    try:
        return tuple(Verifier.decode(item) for item in text.split())
    except NoteError as exc:
        raise InvalidSecretError(f"GATEWAY_CHECKPOINT_RETIRED_KEYS: {exc}") from exc


def _secret(value: object) -> str | None:
    if value is None:
        return None
    text: str = value.get_secret_value()  # type: ignore[attr-defined]
    return text or None


def add_dev_master_key(settings: Settings) -> str:
    """Dev only: put a new payload master key in front of the dev key file's keyring.

    Returns the new key's id. Older keys stay, so data keys they wrap still open until
    ``gateway keys rotate`` has re-wrapped them.
    """
    path = settings.data_dir / KEY_FILE_NAME
    stored = _dev_key_file(path)
    fresh = new_master_key()
    _write_private_json(
        path, {**stored, "payload_master_keys": f"{fresh},{stored['payload_master_keys']}"}
    )
    return fresh.split(":", 1)[0]


def _dev_key_file(path: Path) -> dict[str, str]:
    """Read the dev key file, adding any secret it lacks; create it (0600) if absent."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if all(s.setting in stored for s in _SECRETS):
            return stored
    complete = {s.setting: stored.get(s.setting) or s.generate() for s in _SECRETS}
    if not _write_private_json(path, complete, replace=bool(stored)):
        return _dev_key_file(path)  # another process created it meanwhile: keep theirs
    return complete


def _write_private_json(path: Path, document: dict[str, str], *, replace: bool = True) -> bool:
    """Write ``document`` to ``path`` atomically, readable by the owner only.

    With ``replace=False`` an existing file wins and nothing is written (returns False).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    if not replace and path.exists():
        temporary.unlink()
        return False
    temporary.replace(path)
    return True
