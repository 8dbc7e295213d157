"""Small factories for registered organisations and their tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.auth.assertions import (
    sign_client_assertion,
    staff_token_request_form,
    token_request_form,
)
from gateway.auth.scopes import ROLE_SCOPES, Scope
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from gateway.staff.models import StaffMember

TOKEN_URL = "http://127.0.0.1:8000/oauth/token"
TEST_ACTOR = Actor(type="system", id="test-setup")
_counter = itertools.count(1)
TEST_STAFF_ID = "staff-1"  # every organisation that exchanges has it (register())
STAFF_ROLES = {
    OrganisationRole.OPVANG: "pedagogisch medewerker",
    OrganisationRole.SCHOOL: "intern begeleider",
    OrganisationRole.SWV: "orthopedagoog",
    OrganisationRole.LEERPLICHT: "leerplichtambtenaar",
}


def identifier_for(role: OrganisationRole) -> str:
    """A random identifier from a range no test names explicitly (those use real-looking codes:
    GM0344, PO2799, 12AB), so a random one never collides with a fixed one registered later."""
    n = next(_counter) + random.randrange(10_000)  # noqa: S311 - test data, not security
    return {
        OrganisationRole.OPVANG: f"{n:09d}",
        OrganisationRole.SCHOOL: f"{n % 100:02d}" + "".join(random.sample("LMNPRSTUVW", 2)),
        OrganisationRole.SWV: f"PO{5000 + n % 4000:04d}",
        OrganisationRole.LEERPLICHT: f"GM{5000 + n % 4000:04d}",
        OrganisationRole.GATEWAY: f"{n:08d}",
    }[role]


def with_check_digit(prefix: str) -> str | None:
    """Complete 8 digits into a BSN (the elfproef written out independently of the gateway's
    check), or None when no check digit works (the remainder is 10)."""
    total = sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), prefix, strict=True))
    check = total % 11
    return None if check == 10 else prefix + str(check)


@dataclass
class RegisteredClient:
    organisation_id: str
    role: OrganisationRole
    key: ECKey | RSAKey
    token_url: str = TOKEN_URL  # the audience of its client assertions
    staff_id: str | None = None  # the registered staff member its tokens act for, if any

    def assertion(self, **overrides: Any) -> str:
        return sign_client_assertion(self.key, self.organisation_id, self.token_url, **overrides)

    def staff_form(self, staff_id: str | None = None, scope: str | None = None) -> dict[str, str]:
        """A token-exchange request on behalf of ``staff_id`` (default: its staff member)."""
        staff = staff_id or self.staff_id
        assert staff is not None, "this organisation has no staff member"
        return staff_token_request_form(
            self.key, self.organisation_id, self.token_url, staff, scope
        )


def register(
    session: Session,
    role: OrganisationRole = OrganisationRole.SCHOOL,
    *,
    key: ECKey | RSAKey | None = None,
    name: str | None = None,
    token_url: str = TOKEN_URL,
    identifier: str | None = None,
    gemeente: str | None = None,
    region: list[str] | None = None,
) -> RegisteredClient:
    for _ in range(20):  # random identifiers may collide; retry a few times
        if identifier is not None:
            break
        candidate = identifier_for(role)
        if service.find_by_identifier(session, role, candidate) is None:
            identifier = candidate
    assert identifier is not None
    organisation = service.register_organisation(
        session,
        actor=TEST_ACTOR,
        role=role,
        name=name or f"Test {role.value} {identifier}",
        identifier=identifier,
        gemeente=gemeente,
        region=region,
    )
    key = key or ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    service.add_key(session, organisation.id, key.as_dict(private=False), actor=TEST_ACTOR)
    staff_id = None
    if Scope.EXCHANGE in ROLE_SCOPES[role]:  # test data: no audit entry of its registration
        staff_id = TEST_STAFF_ID
        session.add(
            StaffMember(
                organisation_id=organisation.id,
                staff_id=staff_id,
                display_name="Test Medewerker",
                role=STAFF_ROLES[role],
            )
        )
        session.commit()
    return RegisteredClient(organisation.id, role, key, token_url, staff_id)


def request_token(
    client: TestClient, registered: RegisteredClient, *, scope: str | None = None, **overrides: Any
) -> httpx2.Response:
    form = token_request_form(registered.assertion(**overrides), scope)
    return client.post("/oauth/token", data=form)


def access_token(client: TestClient, registered: RegisteredClient, *, own: bool = False) -> str:
    """A token on behalf of the organisation's staff member, as calls about children need;
    the organisation's own token (client credentials) with ``own``, or when it has no staff."""
    if own or registered.staff_id is None:
        response = request_token(client, registered)
    else:
        response = client.post("/oauth/token", data=registered.staff_form())
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged_jwt(header: dict[str, Any], payload: str, *, hmac_key: bytes | None = None) -> str:
    """A JWT that JOSE libraries refuse to make, built by hand: unsigned (``alg: none``), or
    HMAC-SHA256-signed with ``hmac_key``, the key-confusion forgery when that is a public key.
    ``payload`` is the base64url claims segment."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{payload}"
    if hmac_key is None:
        return f"{signing_input}."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


A = TypeVar("A")
REGISTRY_BOUND: float = Settings.model_fields["registry_cache_seconds"].default
SLACK = 1.0  # a request's own time on a loaded two-core machine


def within_registry_bound(call: Callable[[], A], done: Callable[[A], bool]) -> A:
    """``call``'s first answer for which ``done`` holds, or its last one once the registry's
    bound (plus a request's slack) is over. A change made in another process reaches a
    gateway's copies of the registry within that bound (SECURITY.md); on SQLite, with no
    notification between processes, it takes the whole bound."""
    deadline = time.monotonic() + REGISTRY_BOUND + SLACK
    while True:
        answer = call()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.25)  # few enough requests to stay under the token rate limit
