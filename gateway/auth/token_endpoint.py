"""The OAuth2 token endpoint, built on Authlib's authorization server.

Grants: client credentials (RFC 6749 §4.4), and token exchange (RFC 8693) for a token on behalf
of a registered staff member (:mod:`gateway.auth.token_exchange`). Client authentication:
``private_key_jwt`` (RFC 7523 §2.2, as profiled by OpenID Connect Core §9) everywhere,
``tls_client_auth`` and ``self_signed_tls_client_auth`` (RFC 8705 §2) over mutual TLS,
``client_secret_basic`` in dev only. A token requested over mutual TLS, by whichever method,
is bound to the client's certificate (RFC 8705 §3). Authlib does the protocol; this module
supplies what Authlib leaves to the host: how clients and their keys are found, how a used
``jti`` is remembered, which scopes a role may hold, and how responses are written (errors as
problem+json that keep RFC 6749's ``error`` and ``error_description`` members, so OAuth
client libraries still understand them).

Authlib ships server integrations for Flask and Django only; the small adapter to Starlette
requests and responses lives here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import structlog
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from cryptography import x509
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from gateway.auth.access_tokens import AccessTokens
from gateway.auth.assertions import TOKEN_EXCHANGE
from gateway.auth.certificates import CertificateError, thumbprint, verify_chain
from gateway.auth.client_secrets import verify_client_secret
from gateway.auth.models import UsedClientAssertion
from gateway.auth.revocation import Revocation
from gateway.auth.scopes import ROLE_SCOPES, Scope
from gateway.errors import ProblemType, problem_response
from gateway.organisations.certificates import (
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
    matching,
)
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_organisation
from gateway.settings import Settings
from gateway.staff.models import StaffMember

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method name
ASSERTION_ALGORITHMS = ["ES256", "RS256", "PS256"]
ASSERTION_LEEWAY_SECONDS = 30
MAX_JTI = 255
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")

log = structlog.get_logger(__name__)


class OrganisationClient(ClientMixin):  # type: ignore[misc]
    """An organisation seen as an OAuth2 client (Authlib's ``ClientMixin``)."""

    def __init__(self, organisation: Organisation, *, secrets_allowed: bool) -> None:
        self.organisation = organisation
        self._secrets_allowed = secrets_allowed

    def get_client_id(self) -> str:
        return self.organisation.id

    def get_allowed_scope(self, scope: str) -> str:
        allowed = ROLE_SCOPES[self.organisation.role]
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.organisation.client_secret_hash
        return stored is not None and verify_client_secret(client_secret, stored)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return False
        if method == PRIVATE_KEY_JWT:
            return bool(self.organisation.keys)
        if method == CLIENT_SECRET_BASIC:
            return self._secrets_allowed and self.organisation.client_secret_hash is not None
        # For these, MutualTLSAuthentication has found the matching certificate.
        return method in {TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH}

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" or (
            grant_type == TOKEN_EXCHANGE and Scope.EXCHANGE in ROLE_SCOPES[self.organisation.role]
        )


def assertion_audiences(settings: Settings) -> list[str]:
    """Who a JWT a client signs for us may be addressed to: the token endpoint URL (RFC 7523
    §3), or the issuer identifier, which RFC 7523bis prefers."""
    return [settings.token_url, settings.issuer]


def registered_keys(organisation: Organisation) -> KeySet | None:
    """The public keys an organisation signs with; None while it has none (yet, or any more)."""
    if not organisation.keys:
        return None
    return KeySet.import_key_set({"keys": [k.jwk for k in organisation.keys]})


def lives_too_long(exp: object, settings: Settings) -> bool:
    """Whether a client-signed JWT's ``exp`` lies further ahead than we accept."""
    horizon = time.time() + settings.client_assertion_max_lifetime + ASSERTION_LEEWAY_SECONDS
    return isinstance(exp, int | float) and exp > horizon


class PrivateKeyJWTAuthentication(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client assertions, checked against the organisation's registered JWKS."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, session: Session, settings: Settings) -> None:
        super().__init__(validate_jti=True, leeway=ASSERTION_LEEWAY_SECONDS)
        self._session = session
        self._settings = settings

    def get_audiences(self) -> list[str]:
        return assertion_audiences(self._settings)

    def resolve_client_public_key(self, client: OrganisationClient) -> KeySet:
        keys = registered_keys(client.organisation)
        if keys is None:
            raise InvalidClientError(
                description="This client has no registered key to verify its assertion with."
            )
        return keys

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        # Authlib leaves the algorithm list to joserfc's defaults; we name ours, so
        # "none" and HMAC-with-the-public-key are refused whatever the header says.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(
                description="The client assertion signature does not verify with any "
                "registered key of this client."
            ) from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: Any) -> None:
        if lives_too_long(claims.get("exp"), self._settings):
            raise InvalidClientError(
                description="The client assertion lives too long; its exp may be at most "
                f"{self._settings.client_assertion_max_lifetime} seconds ahead."
            )
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        """Record the jti in its own transaction: once presented, it is spent."""
        if not valid_jti(jti):
            raise InvalidClientError(
                description=f"The jti must be 1 to {MAX_JTI} printable characters."
            )
        return spend_jti(self._session, str(claims["sub"]), jti, claims["exp"])


def valid_jti(jti: Any) -> bool:
    return isinstance(jti, str) and jti.isprintable() and 0 < len(jti) <= MAX_JTI


def spend_jti(session: Session, client_id: str, jti: str, exp: Any) -> bool:
    """Record the ``jti`` of a JWT the client signed (a client assertion or a subject token),
    in its own transaction; False when it was presented before. One namespace per client: a
    jti names one JWT (RFC 7519 §4.1.7), whatever it is for."""
    expires_at = datetime.fromtimestamp(float(exp), UTC)
    now = datetime.now(UTC)
    try:
        with Session(session.get_bind()) as own, own.begin():
            own.execute(
                delete(UsedClientAssertion).where(
                    UsedClientAssertion.expires_at
                    < now - timedelta(seconds=ASSERTION_LEEWAY_SECONDS)
                )
            )
            own.execute(
                insert(UsedClientAssertion).values(
                    client_id=client_id, jti=jti, expires_at=expires_at
                )
            )
    except IntegrityError:
        return False
    return True


class MutualTLSAuthentication:
    """RFC 8705 §2: the client names itself (``client_id``) and the certificate of its TLS
    connection proves it: a self-signed one by being the registered one, a PKI one by its OIN
    and by a chain to the configured CA bundle."""

    def __init__(
        self,
        method: str,
        certificate: x509.Certificate | None,
        ca_bundle: Path | None,
        revocation: Revocation,
    ) -> None:
        self._method = method
        self._certificate = certificate
        self._ca_bundle = ca_bundle
        self._revocation = revocation

    def __call__(
        self, query_client: Callable[[str], OrganisationClient | None], request: TokenRequest
    ) -> OrganisationClient | None:
        client_id = request.form.get("client_id")
        if self._certificate is None or not client_id:
            return None
        client = query_client(client_id)
        if client is None or matching(client.organisation, self._certificate, self._method) is None:
            return None
        if self._method == TLS_CLIENT_AUTH:
            try:
                verify_chain(self._certificate, self._ca_bundle)
                self._revocation.check(self._certificate)
            except CertificateError:
                return None
        return client


ALL_METHODS = [PRIVATE_KEY_JWT, TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH, CLIENT_SECRET_BASIC]


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ALL_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        check_client_may_ask(self.client, self.request.payload.scope)


def check_client_may_ask(client: OrganisationClient, scope: str | None) -> None:
    """An authenticated client gets a token only while its organisation is active, and only
    for scopes its role may hold."""
    organisation = client.organisation
    if not organisation.is_active:
        raise UnauthorizedClientError(description="The organisation is suspended.")
    requested = set(scope_to_list(scope) or [])
    allowed = {s.value for s in ROLE_SCOPES[organisation.role]}
    if not requested <= allowed:
        raise InvalidScopeError(
            description=f"A {organisation.role.value} client may request only: "
            + " ".join(sorted(allowed))
        )


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    """A request as Authlib's servers read it: its parameters (query or form) as the payload."""

    def __init__(
        self, uri: str, headers: Mapping[str, str], form: dict[str, str], method: str = "POST"
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    """One per request: it holds the request's database session (``session``, which grants
    read too) and client certificate, and serves the grants it is given."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        tokens: AccessTokens,
        grants: tuple[type[grants.BaseGrant], ...] = (ClientCredentialsGrant,),
        certificate: x509.Certificate | None = None,
        *,
        revocation: Revocation,
    ) -> None:
        super().__init__(scopes_supported=[scope.value for scope in Scope])
        self.session = session
        self.settings = settings
        self._tokens = tokens
        self._bound_to = thumbprint(certificate) if certificate is not None else None
        self.register_client_auth_method(
            PRIVATE_KEY_JWT, PrivateKeyJWTAuthentication(session, settings)
        )
        for method in (TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH):
            self.register_client_auth_method(
                method,
                MutualTLSAuthentication(
                    method, certificate, settings.tls_client_ca_file, revocation
                ),
            )
        for grant in grants:
            self.register_grant(grant)
        self.register_token_generator("default", self._generate_token)

    def authenticate_client(
        self, request: TokenRequest, methods: list[str], endpoint: str = "token"
    ) -> OrganisationClient:
        try:
            client: OrganisationClient = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as exc:
            if "cannot authenticate with methods" not in (exc.description or ""):
                raise
            raise InvalidClientError(
                description="No usable client authentication: send client_assertion_type and "
                "client_assertion (private_key_jwt, RFC 7523), or client_id over mutual TLS "
                "with a registered certificate (RFC 8705)."
            ) from exc
        return client

    def query_client(self, client_id: str) -> OrganisationClient | None:
        organisation = find_organisation(self.session, client_id)
        if organisation is None:
            return None
        return OrganisationClient(organisation, secrets_allowed=self.settings.is_dev)

    def _generate_token(
        self,
        grant_type: str,
        client: OrganisationClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        organisation = client.organisation
        requested = set(scope_to_list(scope) or [])
        allowed = ROLE_SCOPES[organisation.role]
        granted = frozenset(s for s in allowed if s.value in requested) if requested else allowed
        staff_id = user.staff_id if isinstance(user, StaffMember) else None
        return self._tokens.issue(
            organisation.id,
            organisation.role,
            granted,
            staff_id=staff_id,
            certificate=self._bound_to,
        )

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        # Access tokens are self-contained JWTs; only the fact of issuance is logged.
        log.info("token_issued", client_id=request.client.get_client_id(), scope=token["scope"])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> JSONResponse:
        header_map = dict(headers)
        if status < 400:
            return JSONResponse(body, status_code=status, headers=header_map)
        return oauth_problem(
            body["error"], body.get("error_description"), status=status, headers=header_map
        )


def oauth_problem(
    error: str,
    description: str | None,
    *,
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 6749 §5.2 error as problem+json, keeping ``error``/``error_description``."""
    headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    if error == "invalid_client":
        # RFC 6749 §5.2 allows 401 here; it tells clients to fix credentials, not the request.
        status = 401
        headers.setdefault("WWW-Authenticate", f'Bearer realm="kindkoppeling", error="{error}"')
    problem = ProblemType(f"oauth:{error}", status, "The token request was refused")
    detail = description or error.replace("_", " ")
    return problem_response(problem, detail, headers=headers, error=error, error_description=detail)


def reject_repeated_parameters(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.2: request parameters MUST NOT be included more than once."""
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            # Named only when it is a plain name: an error description is client-visible
            # text that OAuth limits to printable ASCII without quotes or backslashes.
            plain = PARAMETER_NAME.fullmatch(key) is not None
            which = f"The parameter {key}" if plain else "A parameter"
            raise InvalidRequestError(description=f"{which} is repeated.")
        form[key] = value
    return form
