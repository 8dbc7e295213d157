"""Token attacks on every protected route of the OpenAPI document.

Each forged or misused access token is sent to each route that declares a security
requirement; every one must be refused with 401 (or 403 for a scope the token lacks) as
problem+json. The forgeries that need a signature are made with the gateway's own signing key,
so what is tested is the claim checks, not only the signature.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from gateway.api_document import served_paths
from gateway.auth.assertions import token_request_form
from gateway.keys import load_keys
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.factories import (
    TEST_STAFF_ID,
    RegisteredClient,
    access_token,
    b64url,
    bearer,
    forged_jwt,
    register,
    request_token,
)
from tests.tally import TALLY

PROBLEM = "application/problem+json"


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path.replace("{", "").replace("}", ""))  # any id: auth comes first
        for path, operations in served_paths(app.openapi()).items()
        for method, operation in operations.items()
        if operation.get("security")
    ]


class Forger:
    """Access tokens for ``school`` that a careless verifier might accept."""

    def __init__(self, settings: Settings, school: RegisteredClient) -> None:
        self.settings = settings
        self.school = school
        self.key = load_keys(settings).token_signing_key

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.api_audience,
            "sub": self.school.organisation_id,
            "client_id": self.school.organisation_id,
            "role": "school",
            "scope": "exchange",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def signed(self, key: ECKey | None = None, typ: str = "at+jwt", **overrides: Any) -> str:
        key = key or self.key
        header = {"alg": "ES256", "typ": typ, "kid": key.kid}
        return jwt.encode(header, self.claims(**overrides), key)

    def unsigned(self) -> str:
        return forged_jwt({"alg": "none", "typ": "at+jwt"}, self.payload())

    def hs256_with_public_key(self) -> str:
        public = self.key.as_pem(private=False)
        return forged_jwt({"alg": "HS256", "typ": "at+jwt"}, self.payload(), hmac_key=public)

    def payload(self) -> str:
        return b64url(json.dumps(self.claims()).encode())


def _attacker_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


ATTACKS: dict[str, Callable[[Forger], str | None]] = {
    "none": lambda f: None,
    "empty": lambda f: "",
    "malformed": lambda f: "not.a.jwt",
    "garbage": lambda f: "\u00e9\u00e9\u00e9" * 50,
    "alg-none": lambda f: f.unsigned(),
    "hs256-public-key": lambda f: f.hs256_with_public_key(),
    "attackers-own-key": lambda f: f.signed(key=_attacker_key()),
    "wrong-issuer": lambda f: f.signed(iss="https://evil.example"),
    "wrong-audience": lambda f: f.signed(aud="https://evil.example/api"),
    "no-audience": lambda f: f.signed(aud=None),
    "expired": lambda f: f.signed(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000),
    "not-yet-valid": lambda f: f.signed(nbf=int(time.time()) + 3600),
    "not-an-access-token": lambda f: f.signed(typ="JWT"),
    "client-assertion-as-token": lambda f: f.school.assertion(),
    "role-escalation": lambda f: f.signed(role="gateway", scope="admin exchange"),
    "unknown-organisation": lambda f: f.signed(sub=str(uuid.uuid4())),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_every_protected_route_refuses_the_forged_token(
    client: TestClient, session: Session, settings: Settings, attack: str
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    token = ATTACKS[attack](Forger(settings, school))
    # As bytes: a hostile client is not bound to ASCII headers.
    headers = {} if token is None else {"Authorization": f"Bearer {token}".encode()}
    routes = protected_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) >= 15
    for method, path in routes:
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (attack, method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")
        TALLY["token_attacks"] += 1


def test_a_suspended_organisations_live_token_stops_everywhere(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    token = bearer(access_token(client, school))
    assert client.get("/api/v1/organisations/me", headers=token).status_code == 200

    suspended = client.patch(
        f"/api/v1/organisations/{school.organisation_id}",
        json={"status": "suspended"},
        headers=admin,
    )
    assert suspended.status_code == 200

    for method, path in protected_routes(client.app):  # type: ignore[arg-type]
        response = client.request(method, path, headers=token, json={})
        assert response.status_code == 401, (method, path)
        assert "suspended" in response.json()["detail"]
        TALLY["token_attacks"] += 1
    refused = request_token(client, school)
    assert refused.status_code == 400
    assert refused.json()["error"] == "unauthorized_client"


def test_a_token_without_the_admin_scope_reaches_no_admin_route(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    token = bearer(access_token(client, school))
    admin_routes = [
        (method, path)
        for method, path in protected_routes(client.app)  # type: ignore[arg-type]
        if path.startswith("/api/v1/organisations")
        and not path.startswith("/api/v1/organisations/me")
    ]
    assert len(admin_routes) >= 4
    for method, path in admin_routes:
        response = client.request(method, path, headers=token, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["type"].endswith(":insufficient-scope")
        TALLY["token_attacks"] += 1
    # Nor can it ask for the scope.
    escalated = request_token(client, school, scope="admin")
    assert escalated.status_code in {400, 401}
    assert escalated.json()["error"] == "invalid_scope"
    TALLY["token_attacks"] += 1


def test_a_replayed_client_assertion_gets_no_second_token(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    assertion = school.assertion()
    first = client.post("/oauth/token", data=token_request_form(assertion))
    replay = client.post("/oauth/token", data=token_request_form(assertion))
    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    TALLY["token_attacks"] += 1


@pytest.fixture
def staff_school(session: Session) -> RegisteredClient:
    return register(session, OrganisationRole.SCHOOL)


def test_a_replayed_subject_token_gets_no_second_token(
    client: TestClient, session: Session
) -> None:
    school = register(session, OrganisationRole.SCHOOL)
    form = school.staff_form()
    first = client.post("/oauth/token", data=form)
    # The same subject token again, with a fresh client assertion: the staff member's token is
    # for one request, as the assertion is.
    replay = client.post("/oauth/token", data={**form, "client_assertion": school.assertion()})
    assert first.status_code == 200, first.text
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_request"
    assert "used before" in replay.json()["error_description"]
    TALLY["token_attacks"] += 1


@examples(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    staff_id=st.one_of(
        st.sampled_from(["ib-001\n", "ib-001\r\n", "ib-001\x00", "\nib-001", "ib 001", "ib-001\t"]),
        st.text(max_size=80).filter(lambda text: text not in {"", TEST_STAFF_ID}),
    )
)
def test_odd_staff_ids_in_a_subject_token_get_a_400_never_a_500(
    client: TestClient, staff_school: RegisteredClient, staff_id: str
) -> None:
    # "ib-001\n" matched the staff-id pattern (its $ matches before a trailing newline) and was
    # echoed into the error description, which Authlib refuses: a 500.
    form = staff_school.staff_form(staff_id)
    response = client.post("/oauth/token", data=form)
    assert response.status_code == 400, (staff_id, response.text)
    assert response.json()["error"] == "invalid_request"
    TALLY["token_attacks"] += 1
