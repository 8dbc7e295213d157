"""Client side of ``private_key_jwt``: signing a client assertion (RFC 7523 §3), and the token
exchange on behalf of a staff member (RFC 8693, :mod:`gateway.auth.token_exchange`).

The gateway itself only verifies assertions; this is for the demo CLI, for integrators who want
a reference, and for tests.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a grant
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 - a type URI


def sign_client_assertion(
    key: ECKey | RSAKey,
    client_id: str,
    audience: str,
    *,
    lifetime: int = 60,
    claims: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """A signed assertion; ``claims``/``header`` override or add members (None removes one)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    protected: dict[str, Any] = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    for target, changes in ((payload, claims), (protected, header)):
        for name, value in (changes or {}).items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
    return jwt.encode(protected, payload, key)


def token_request_form(assertion: str, scope: str | None = None) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if scope:
        form["scope"] = scope
    return form


def staff_token_request_form(
    key: ECKey | RSAKey,
    client_id: str,
    audience: str,
    staff_id: str,
    scope: str | None = None,
) -> dict[str, str]:
    """A token-exchange request for a token on behalf of ``staff_id``: the client assertion
    authenticates the organisation, the subject token (signed with the same key) names the
    staff member."""
    form = token_request_form(sign_client_assertion(key, client_id, audience), scope)
    form["grant_type"] = TOKEN_EXCHANGE
    form["subject_token"] = sign_client_assertion(
        key, client_id, audience, claims={"sub": staff_id}
    )
    form["subject_token_type"] = JWT_TOKEN_TYPE
    return form
