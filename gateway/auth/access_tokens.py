"""Access tokens: short-lived JWTs per RFC 9068 (JWT Profile for OAuth 2.0 Access Tokens).

Signed ES256 with the gateway's key; the public half is served at ``/.well-known/jwks.json``.
A token names the organisation (``client_id``), its role and its scopes. A token from the
client-credentials grant is the organisation's own (``sub`` is the ``client_id`` too); one from
the token exchange (:mod:`gateway.auth.token_exchange`, RFC 8693) is issued to the organisation's
client acting on behalf of one of its registered staff members: ``sub`` is the staff id and
``act`` (RFC 8693 §4.1) names the client as the acting party. A token issued over mutual TLS
is bound to the client's certificate (``cnf`` ``x5t#S256``, RFC 8705 §3) and works only over
that certificate. Being self-contained, it is not stored; the organisation's status (and the
staff member's registration) is checked on every use instead, so suspending an organisation
stops its live tokens at once.

A token that verified is remembered (its exact text, in memory, up to ``MAX_REMEMBERED``) with
its claims until it expires: the same bytes under the same keys verify the same way, and only
time can change that answer, so expiry is checked again at every use. Decoding and checking a
token otherwise costs about a tenth of an authenticated request's CPU.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet

from gateway.auth.scopes import Scope
from gateway.errors import AuthenticationError
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings

TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
ALGORITHM = "ES256"
LEEWAY_SECONDS = 30
MAX_REMEMBERED = 4096  # verified tokens kept; a full table is emptied


@dataclass(frozen=True)
class AccessTokenClaims:
    organisation_id: str
    role: OrganisationRole
    scopes: frozenset[Scope]
    token_id: str
    staff_id: str | None = None  # the staff member the client acts for, if any
    certificate: str | None = None  # cnf x5t#S256: the client certificate it is bound to


class AccessTokens:
    def __init__(
        self, settings: Settings, signing_key: ECKey, retired_keys: tuple[ECKey, ...] = ()
    ) -> None:
        """``retired_keys``: public keys of earlier signing keys, still published and accepted
        so that tokens signed before a rotation work until they expire."""
        self._settings = settings
        self._key = signing_key
        self._published: list[Key] = [
            signing_key,
            *(k for k in retired_keys if k.kid != signing_key.kid),
        ]
        self._verify_keys = KeySet(self._published)
        self._verified: dict[str, tuple[AccessTokenClaims, int]] = {}

    def issue(
        self,
        organisation_id: str,
        role: OrganisationRole,
        scopes: frozenset[Scope],
        *,
        staff_id: str | None = None,
        certificate: str | None = None,
    ) -> dict[str, Any]:
        """Return an RFC 6749 §5.1 token response; with ``staff_id``, a token on that staff
        member's behalf; with ``certificate`` (a thumbprint), one bound to that client
        certificate (RFC 8705 §3)."""
        now = datetime.now(UTC)
        lifetime = self._settings.access_token_lifetime
        claims: dict[str, Any] = {
            "iss": self._settings.issuer,
            "aud": self._settings.api_audience,
            "sub": staff_id or organisation_id,
            "client_id": organisation_id,
            "role": role.value,
            "scope": " ".join(sorted(scopes)),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if staff_id is not None:
            claims["act"] = {"sub": organisation_id}
        if certificate is not None:
            claims["cnf"] = {"x5t#S256": certificate}
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": self._key.kid}
        return {
            "access_token": jwt.encode(header, claims, self._key),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": claims["scope"],
        }

    def verify(self, token: str) -> AccessTokenClaims:
        """Check signature, type, issuer, audience and time; raise AuthenticationError."""
        remembered = self._verified.get(token)
        if remembered is not None and time.time() <= remembered[1] + LEEWAY_SECONDS:
            return remembered[0]
        claims, expires = self._check(token)
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()
        self._verified[token] = (claims, expires)
        return claims

    def _check(self, token: str) -> tuple[AccessTokenClaims, int]:
        try:
            decoded = jwt.decode(token, self._verify_keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationError(
                "The access token is malformed or its signature is wrong."
            ) from exc
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise AuthenticationError("The token is not an access token.")
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._settings.issuer},
            aud={"essential": True, "value": self._settings.api_audience},
            sub={"essential": True},
            client_id={"essential": True},
            exp={"essential": True},
            nbf={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
            role = OrganisationRole(decoded.claims["role"])
            scopes = frozenset(Scope(s) for s in str(decoded.claims.get("scope", "")).split())
            organisation_id, staff_id = _parties(decoded.claims)
            certificate = _bound_to(decoded.claims)
        except (JoseError, KeyError, ValueError) as exc:
            raise AuthenticationError(f"The access token is not valid: {_reason(exc)}.") from exc
        claims = AccessTokenClaims(
            organisation_id=organisation_id,
            role=role,
            scopes=scopes,
            token_id=str(decoded.claims["jti"]),
            staff_id=staff_id,
            certificate=certificate,
        )
        return claims, int(decoded.claims["exp"])

    def jwks(self) -> dict[str, Any]:
        """The current key first, then the retired ones."""
        return {
            "keys": [
                {**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM}
                for key in self._published
            ]
        }


def _parties(claims: dict[str, Any]) -> tuple[str, str | None]:
    """The organisation (its client) and the staff member it acts for, if it acts for one."""
    client_id, subject, act = claims["client_id"], claims["sub"], claims.get("act")
    if not isinstance(client_id, str) or not isinstance(subject, str):
        raise ValueError("client_id and sub are strings")
    if act is None:
        if subject != client_id:
            raise ValueError("a token without act is the client's own: its sub is the client_id")
        return client_id, None
    if not isinstance(act, dict) or act.get("sub") != client_id or set(act) != {"sub"}:
        raise ValueError("act names the token's own client, and nothing more")
    return client_id, subject


def _bound_to(claims: dict[str, Any]) -> str | None:
    """The thumbprint of the certificate the token is bound to (RFC 8705 §3.1), if any."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    thumbprint = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
    if not isinstance(thumbprint, str):
        raise ValueError("cnf names no x5t#S256 certificate thumbprint")
    return thumbprint


def _reason(exc: Exception) -> str:
    description = getattr(exc, "description", None)
    return str(description or exc.__class__.__name__)
