"""Rotating the gateway's keys without breaking what they signed: the token signing key (the
old key stays in the JWKS until its tokens expire) and the checkpoint signing key (old
checkpoints keep verifying, online and offline). The payload master key's rotation (re-wrap)
is tested in tests/exchanges/test_privacy.py and tests/test_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import SecretStr
from sqlalchemy.orm import Session

from audit import store
from audit.__main__ import main as offline_verify
from audit.export import write_export
from audit.note import Verifier
from audit.verify import verify_log
from gateway.app import create_app
from gateway.keys import InvalidSecretError, load_keys
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import access_token, bearer, register


def ec_pem() -> str:
    return ECKey.generate_key("P-256", private=True).as_pem(private=True).decode()


def ed25519_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def client_with(settings: Settings, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes)), base_url=PUBLIC_URL)


def kid_of(token: str) -> str:
    return str(jwt.decode(token, ECKey.generate_key("P-256"), algorithms=[]).header["kid"])


def test_tokens_signed_before_a_rotation_work_until_the_old_key_is_dropped(
    settings: Settings, session: Session
) -> None:
    old_pem, new_pem = ec_pem(), ec_pem()
    old_kid, new_kid = (ECKey.import_key(p).thumbprint() for p in (old_pem, new_pem))
    school = register(session, OrganisationRole.SCHOOL)
    with client_with(settings, token_signing_key=SecretStr(old_pem)) as before:
        old_token = access_token(before, school)

    with client_with(
        settings, token_signing_key=SecretStr(new_pem), token_retired_keys=old_pem
    ) as during:
        jwks = during.get("/.well-known/jwks.json").json()
        old_still_works = during.get("/api/v1/exchanges", headers=bearer(old_token))
        new_token = access_token(during, school)
        new_works = during.get("/api/v1/exchanges", headers=bearer(new_token))

    with client_with(settings, token_signing_key=SecretStr(new_pem)) as after:
        old_refused = after.get("/api/v1/exchanges", headers=bearer(old_token))
        new_still_works = after.get("/api/v1/exchanges", headers=bearer(new_token))

    assert [key["kid"] for key in jwks["keys"]] == [new_kid, old_kid]  # current first
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    assert old_still_works.status_code == 200
    assert new_works.status_code == 200
    assert new_still_works.status_code == 200
    assert old_refused.status_code == 401


def test_a_retired_token_key_only_verifies_and_never_signs(
    settings: Settings, session: Session
) -> None:
    old_pem, new_pem = ec_pem(), ec_pem()
    school = register(session, OrganisationRole.SCHOOL)

    with client_with(
        settings, token_signing_key=SecretStr(new_pem), token_retired_keys=old_pem
    ) as client:
        token = access_token(client, school)

    assert (
        jwt.decode(token, ECKey.import_key(new_pem)).claims["client_id"] == school.organisation_id
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("token_retired_keys", "not a key"),
        ("token_retired_keys", ed25519_pem()),
        ("checkpoint_retired_keys", "audit+00000000+AAAA"),
    ],
)
def test_a_malformed_retired_key_stops_the_start(
    settings: Settings, setting: str, value: str
) -> None:
    with pytest.raises(InvalidSecretError):
        load_keys(settings.model_copy(update={setting: value}))


def test_checkpoints_signed_before_a_rotation_still_verify(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    old_pem, new_pem = ed25519_pem(), ed25519_pem()
    register(session, OrganisationRole.SCHOOL)  # an audited action
    with client_with(settings, checkpoint_signing_key=SecretStr(old_pem)) as before:
        old_key = before.get("/api/v1/audit/verifier-key").text.strip()
        assert before.get("/api/v1/audit/checkpoint").status_code == 200

    register(session, OrganisationRole.SCHOOL)
    rotated = {"checkpoint_signing_key": SecretStr(new_pem), "checkpoint_retired_keys": old_key}
    with client_with(settings, **rotated) as after:
        new_key = after.get("/api/v1/audit/verifier-key").text.strip()
        announced = after.get("/api/v1/audit/verifier-keys").text.splitlines()
        assert after.get("/api/v1/audit/checkpoint").status_code == 200
        signer = after.app.state.audit_signer  # type: ignore[attr-defined]

    session.expire_all()
    leaves, notes = list(store.iter_leaves(session)), store.all_checkpoints(session)
    assert announced == [new_key, old_key]
    assert len(notes) == 2
    trusting_both = verify_log(leaves, notes, [Verifier.decode(k) for k in announced])
    trusting_new_only = verify_log(leaves, notes, Verifier.decode(new_key))
    assert trusting_both.ok and trusting_both.checkpoints == 2
    assert not trusting_new_only.ok and trusting_new_only.checkpoints == 1

    write_export(tmp_path / "export", leaves, notes, signer.verifiers)
    assert offline_verify(["verify", str(tmp_path / "export")]) == 0
    only_new = ["verify", str(tmp_path / "export"), "--verifier-key", new_key]
    assert offline_verify(only_new) == 1
    both = [*only_new, "--verifier-key", old_key]
    assert offline_verify(both) == 0
