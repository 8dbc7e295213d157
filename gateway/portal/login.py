"""Portal login with OpenID Connect: Authorization Code + PKCE (S256) through Authlib's Starlette
client, against the configured provider (in production a DigiD and eHerkenning broker; in dev
the built-in one).

The ID token is verified by Authlib (signature from the provider's JWKS, issuer, audience,
expiry, nonce). What the portal keeps in its signed session cookie is pseudonymous: a login
reference (a hash of issuer and subject), the person's keyed pseudonym (never the BSN), or, for
a privacy officer, the organisation they work for, and the id of the login's row in
``portal_logins`` (see ``gateway.portal.logins``), without which the cookie is no login. Logging
in starts a fresh session (no fixation); logging out ends the login, so no copy of the cookie
works after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway.children.bsn import InvalidBSNError, pseudonym, validate_bsn
from gateway.deps import PseudonymKeyDep, SessionDep
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.service import find_by_identifier
from gateway.oversight.service import Officer
from gateway.portal import logins
from gateway.portal.csrf import check_csrf
from gateway.portal.pages import render
from gateway.settings import Settings

SESSION_USER = "user"
SESSION_LOGIN = "login"
SESSION_NEXT = "next"
OFFICER_ROLE = "privacy_officer"


@dataclass(frozen=True)
class PortalUser:
    kind: Literal["citizen", "officer"]
    login_ref: str  # pseudonymous: hash of the provider and the subject
    name: str
    person_pseudonym: str | None = None  # citizens
    organisation_id: str | None = None  # officers
    gateway_officer: bool = False  # the gateway's own officer sees every organisation


class LoginRequiredError(Exception):
    """Raised by pages that need a login; answered with a redirect to the login page."""


class LoginRefusedError(Exception):
    """The provider vouched for someone the portal cannot serve."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_user(request: Request, session: SessionDep) -> PortalUser:
    """The person logged in to this session, if their login has not ended. Checked on the
    request's own database session, the one its page or endpoint goes on to use."""
    data = request.session.get(SESSION_USER)
    login_id = request.session.get(SESSION_LOGIN)
    if not isinstance(data, dict) or not isinstance(login_id, str):
        raise LoginRequiredError()
    if not logins.is_live(session, login_id):
        request.session.clear()
        raise LoginRequiredError()
    return PortalUser(**data)


def current_officer(request: Request, session: SessionDep) -> Officer:
    """The privacy officer logged in to this session (portal pages and the audit API)."""
    user = current_user(request, session)
    if user.kind != "officer" or user.organisation_id is None:
        raise LoginRequiredError()
    return Officer(user.login_ref, user.organisation_id, user.gateway_officer)


def _end_login(request: Request, login_id: str) -> None:
    with request.app.state.sessions() as session:
        logins.end(session, login_id)
        session.commit()


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may follow a login: never another host (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def make_client(settings: Settings, client_secret: str) -> OAuth | None:
    issuer = settings.login_issuer
    if issuer is None:
        return None
    oauth = OAuth()
    oauth.register(
        "login",
        client_id=settings.oidc_client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    return oauth


def identify(
    claims: dict[str, Any], *, issuer: str, session: Session, pseudonym_key: bytes
) -> PortalUser:
    """Who the ID token says logged in, as the portal knows them."""
    login_ref = hashlib.sha256(f"{issuer}|{claims['sub']}".encode()).hexdigest()[:32]
    name = str(claims.get("name") or "")
    if OFFICER_ROLE in (claims.get("roles") or []):
        role, _, identifier = str(claims.get("organisation") or "").partition(":")
        try:
            organisation_role = OrganisationRole(role)
        except ValueError:
            raise LoginRefusedError("Uw organisatie is niet bekend bij Kindkoppeling.") from None
        organisation = find_by_identifier(session, organisation_role, identifier)
        if organisation is None or not organisation.is_active:
            raise LoginRefusedError("Uw organisatie is niet (meer) aangesloten bij Kindkoppeling.")
        return PortalUser(
            kind="officer",
            login_ref=login_ref,
            name=name,
            organisation_id=organisation.id,
            gateway_officer=organisation.role == OrganisationRole.GATEWAY,
        )
    try:
        bsn = validate_bsn(str(claims.get("bsn") or ""))
    except InvalidBSNError:
        raise LoginRefusedError(
            "De inlogdienst gaf geen geldig burgerservicenummer door."
        ) from None
    return PortalUser(
        kind="citizen",
        login_ref=login_ref,
        name=name,
        person_pseudonym=pseudonym(bsn, pseudonym_key),
    )


def _sign_in(
    sessions: Callable[[], Session], claims: dict[str, Any], settings: Settings, key: bytes
) -> tuple[PortalUser, str]:
    """Who the provider's claims name, and a new login for them (in the thread pool)."""
    with sessions() as session:
        user = identify(
            claims, issuer=str(settings.login_issuer), session=session, pseudonym_key=key
        )
        login_id = logins.start(session)
        session.commit()
    return user, login_id


def _provider_unreachable(request: Request) -> Response:
    return render(
        request,
        "message.html",
        {
            "title": "Inloggen is nu niet mogelijk",
            "message": "De inlogdienst is nu niet bereikbaar. Probeer het over een paar "
            "minuten opnieuw.",
            "link": ("/portaal/inloggen", "Opnieuw proberen"),
        },
        status_code=503,
    )


def build_router(oauth: OAuth | None, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/portaal", include_in_schema=False)
    callback_url = f"{settings.public_url}/portaal/callback"

    @router.get("/inloggen")
    async def login(request: Request, next: str | None = None) -> Response:
        if oauth is None:
            return render(
                request,
                "message.html",
                {
                    "title": "Inloggen is nu niet mogelijk",
                    "message": "Er is geen inlogdienst ingesteld. Probeer het later opnieuw.",
                },
                status_code=503,
            )
        request.session[SESSION_NEXT] = safe_next(next)
        try:
            redirect: Response = await oauth.login.authorize_redirect(request, callback_url)
        except httpx2.HTTPError:  # its metadata or keys could not be fetched
            return _provider_unreachable(request)
        return redirect

    @router.get("/callback")
    async def callback(request: Request, key: PseudonymKeyDep) -> Response:
        if oauth is None:
            return RedirectResponse("/portaal/inloggen", status_code=303)
        try:
            token = await oauth.login.authorize_access_token(request)
        except httpx2.HTTPError:
            return _provider_unreachable(request)
        except OAuthError:
            return render(
                request,
                "message.html",
                {
                    "title": "Inloggen is niet gelukt",
                    "message": "De inlogdienst gaf geen geldig antwoord. Probeer het opnieuw.",
                    "link": ("/portaal/inloggen", "Opnieuw inloggen"),
                },
                status_code=400,
            )
        next_page = request.session.get(SESSION_NEXT)
        try:
            user, login_id = await run_in_threadpool(
                _sign_in, request.app.state.sessions, token["userinfo"], settings, key
            )
        except LoginRefusedError as refused:
            request.session.clear()
            return render(
                request,
                "message.html",
                {"title": "U kunt hier niet inloggen", "message": refused.message},
                status_code=403,
            )
        request.session.clear()  # a new session for the new login
        request.session[SESSION_USER] = asdict(user)
        request.session[SESSION_LOGIN] = login_id
        officer_area = "/portaal/fg"
        home = officer_area if user.kind == "officer" else "/portaal"
        target = safe_next(next_page)
        if target and (target.startswith(officer_area) != (user.kind == "officer")):
            target = None  # a page for the other kind of user: start at your own home
        return RedirectResponse(target or home, status_code=303)

    @router.post("/uitloggen")
    async def logout(request: Request) -> Response:
        await check_csrf(request)
        login_id = request.session.get(SESSION_LOGIN)
        if isinstance(login_id, str):
            await run_in_threadpool(_end_login, request, login_id)
        request.session.clear()
        return RedirectResponse("/portaal/uitgelogd", status_code=303)

    @router.get("/uitgelogd")
    def logged_out(request: Request) -> Response:
        return render(
            request,
            "message.html",
            {
                "title": "U bent uitgelogd",
                "message": "Sluit de browser als u een gedeelde computer gebruikt.",
                "link": ("/portaal/inloggen", "Opnieuw inloggen"),
            },
        )

    return router
