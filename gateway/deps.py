"""Injected dependencies, as ``Annotated`` aliases so route signatures read like sentences.

Every dependency of the API is ``async def`` and does no I/O: FastAPI runs a plain ``def``
dependency in its thread pool, and that hop costs more than their work. What needs the database
(the caller's organisation) is confirmed in the one worker hop of the endpoint
(:mod:`gateway.one_hop`), before the endpoint runs. The portal's own dependencies that read the
database are plain functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography import x509
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, OAuth2
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from audit.entry import Actor
from audit.note import Signer
from gateway.auditing.service import ActingFor, organisation_actor
from gateway.auditing.witnessing import Witnesses
from gateway.auth.access_tokens import AccessTokens
from gateway.auth.certificates import CertificateError, from_scope, is_self_signed, thumbprint
from gateway.auth.scopes import Scope
from gateway.errors import (
    AUTHENTICATION_REQUIRED,
    INSUFFICIENT_SCOPE,
    STAFF_REQUIRED,
    AuthenticationError,
    ForbiddenError,
    UnsupportedMediaTypeError,
)
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_organisation
from gateway.rate_limits import RateLimits
from gateway.settings import Settings
from gateway.staff.models import StaffMember
from gateway.staff.service import find_registered

# Offsets past any real list still fit a 64-bit SQL integer; larger ones are a 422, not a crash.
MAX_OFFSET = 1_000_000_000


# The API's security scheme in the OpenAPI document: OAuth2 client credentials
# (``private_key_jwt`` at /oauth/token). On a request it gives the Authorization header.
_client_credentials = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token",
            scopes={
                Scope.EXCHANGE.value: "take part in exchanges (opvang, school, SWV, leerplicht)",
                Scope.ADMIN.value: "manage the organisation registry (the operator)",
            },
        )
    ),
    description="An access token from /oauth/token, sent as Authorization: Bearer.",
    auto_error=False,
)


async def get_bearer(
    authorization: Annotated[str | None, Security(_client_credentials)],
) -> HTTPAuthorizationCredentials | None:
    """The bearer token of the Authorization header, or None."""
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


def client_certificate(request: Request) -> x509.Certificate | None:
    """The certificate the client presented over mutual TLS, if any (no I/O)."""
    settings: Settings = request.app.state.settings
    return from_scope(request.scope, settings.tls_client_cert_header)


def from_app_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency giving what the app keeps as ``app.state.<name>``; each domain names its
    own (``gateway/<domain>/deps.py``), so this module knows none of their services."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request; it connects at its first statement. An API route closes it
    in its worker hop; for anything else it is closed here, off the event loop."""
    session: Session = request.app.state.sessions()
    request.state.session = session
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)


SettingsDep = Annotated[Settings, Depends(from_app_state("settings"))]
SessionDep = Annotated[Session, Depends(get_session)]
AccessTokensDep = Annotated[AccessTokens, Depends(from_app_state("access_tokens"))]
AuditSignerDep = Annotated[Signer, Depends(from_app_state("audit_signer"))]
AuditWitnessesDep = Annotated[Witnesses, Depends(from_app_state("audit_witnesses"))]
PseudonymKeyDep = Annotated[bytes, Depends(from_app_state("pseudonym_key"))]
RateLimitsDep = Annotated[RateLimits, Depends(from_app_state("rate_limits"))]


@dataclass
class Principal:
    """The authenticated API client: an organisation, the scopes of its token, and the staff
    member it acts for if the token names one. The token is checked on the event loop; the
    organisation is confirmed (registered under the token's role, active, within its rate
    limit), and so is the staff member (registered), by :func:`confirm_principal` in the
    endpoint's worker hop."""

    organisation_id: str
    role: OrganisationRole
    scopes: frozenset[Scope]
    counted: bool  # against the rate limit, already (from the block this process holds)
    staff_id: str | None = None
    confirmed: Organisation | None = None
    staff: StaffMember | None = None

    @property
    def organisation(self) -> Organisation:
        if self.confirmed is None:
            raise RuntimeError("the caller's organisation is read only after confirm_principal")
        return self.confirmed

    @property
    def actor(self) -> Actor:
        """How the audit log names this caller."""
        return organisation_actor(self.organisation_id, self.role.value)

    @property
    def acting_for(self) -> ActingFor | None:
        """The confirmed staff member this call is made for, as the audit log records it."""
        if self.staff is None:
            return None
        return ActingFor(self.organisation_id, self.staff.staff_id, self.staff.role)


def _challenge(error: str | None = None, scope: Scope | None = None) -> dict[str, str]:
    parts = ['Bearer realm="kindkoppeling"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope.value}"')
    return {"WWW-Authenticate": ", ".join(parts)}


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(get_bearer)]


async def get_principal(
    request: Request,
    _: SessionDep,
    tokens: AccessTokensDep,
    rate_limits: RateLimitsDep,
    credentials: BearerDep,
) -> Principal:
    """The caller a valid access token names. It is counted against its organisation's rate
    limit here when that needs no write, else in the worker hop; there its organisation is
    confirmed too (in this request's session, hence the dependency on it)."""
    if credentials is None:
        raise AuthenticationError(
            "This endpoint needs an access token: send Authorization: Bearer <token>.",
            problem=AUTHENTICATION_REQUIRED,
            headers=_challenge(),
        )
    try:
        claims = tokens.verify(credentials.credentials)
    except AuthenticationError as exc:
        exc.headers = _challenge("invalid_token")
        raise
    if claims.certificate is not None:
        presented = client_certificate(request)
        if presented is None or thumbprint(presented) != claims.certificate:
            raise AuthenticationError(
                "The token is bound to a client certificate (RFC 8705); present it over mutual "
                "TLS with that same certificate.",
                headers=_challenge("invalid_token"),
            )
        if not is_self_signed(presented):
            request.state.pki_certificate = presented  # its revocation: in the worker hop
    request.state.client_id = claims.organisation_id
    counted = rate_limits.api.hit_held(claims.organisation_id)
    principal = Principal(
        claims.organisation_id, claims.role, claims.scopes, counted, staff_id=claims.staff_id
    )
    request.state.principal = principal
    return principal


def confirm_principal(request: Request, principal: Principal) -> None:
    """Check that the token's organisation is registered under its role and active, and count
    the call against its rate limit if that is still to do. Runs in the worker hop, before the
    endpoint (or, for a request refused before it, before the refusal is answered)."""
    organisation = find_organisation(request.state.session, principal.organisation_id)
    if organisation is None or organisation.role != principal.role:
        raise AuthenticationError(
            "The token names an organisation that is not registered.",
            headers=_challenge("invalid_token"),
        )
    if not organisation.is_active:
        raise AuthenticationError(
            "The organisation is suspended; its tokens no longer work.",
            headers=_challenge("invalid_token"),
        )
    if not principal.counted:
        rate_limits: RateLimits = request.app.state.rate_limits
        rate_limits.api.hit(organisation.id)
        principal.counted = True
    if principal.staff_id is not None:
        principal.staff = find_registered(
            request.state.session, organisation.id, principal.staff_id
        )
        if principal.staff is None:
            raise AuthenticationError(
                f"The token acts for staff member {principal.staff_id}, whom the organisation "
                "has not registered or has removed.",
                headers=_challenge("invalid_token"),
            )
    pki_certificate = getattr(request.state, "pki_certificate", None)
    if pki_certificate is not None:
        try:
            request.app.state.revocation.check(pki_certificate)
        except CertificateError as exc:
            raise AuthenticationError(
                f"The client certificate the token is bound to is not good: {exc}",
                headers=_challenge("invalid_token"),
            ) from exc
    principal.confirmed = organisation


CurrentClient = Annotated[Principal, Depends(get_principal)]


def require_scope(
    scope: Scope, *, on_behalf_of_staff: bool = False
) -> Callable[[Principal], Awaitable[Principal]]:
    """A caller whose token holds ``scope``; with ``on_behalf_of_staff``, a token that acts for
    a staff member (from the token exchange), as every call about a child must be."""

    async def check(principal: CurrentClient) -> Principal:
        if scope not in principal.scopes:
            raise ForbiddenError(
                f"This action needs the {scope.value} scope.",
                problem=INSUFFICIENT_SCOPE,
                headers=_challenge("insufficient_scope", scope),
            )
        if on_behalf_of_staff and principal.staff_id is None:
            raise ForbiddenError(
                "Calls about children are made on behalf of a registered staff member: use an "
                "access token from the token exchange (RFC 8693) that names them.",
                problem=STAFF_REQUIRED,
            )
        return principal

    return check


# The dependency of every route about children: exchanges, consents, signals, decisions.
ForStaff = Depends(require_scope(Scope.EXCHANGE, on_behalf_of_staff=True))


AdminClient = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]


async def require_json(request: Request) -> None:
    """Bodies of the JSON API must be JSON; anything else is 415, not a parse error.
    A POST without a body (an action on a sub-resource) needs no content type."""
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if request.method in {"POST", "PUT", "PATCH"} and (has_body or request.method != "POST"):
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaTypeError(
                f"Send the body as application/json, not {media_type or 'no content type'}.",
                headers={"Accept-Post": "application/json"},
            )
