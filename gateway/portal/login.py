"""Portal login with OpenID Connect: Authorization Code + PKCE (S256) through Authlib's Starlette
client, against the configured provider (in production a DigiD and eHerkenning broker; in dev
the built-in one).

The ID token is verified by Authlib (signature from the provider's JWKS, fetched again once
when a token names a key it has not seen, so the provider may rotate its keys; issuer,
audience, expiry, nonce). As OpenID Connect Core §5.4 has it, a provider may release the
claims of a scope at its userinfo endpoint rather than in the ID token, so the portal asks
userinfo when the provider has one, refuses an answer about another ``sub``, and takes the
person's claims from both. Which scopes to ask and which claims carry the BSN, the roles and
the organisation are settings, as each broker names them its own way.

The level of assurance is asked (``acr_values``: the parents' levels, or the officers' when the
login is for the officer pages) and checked: the ID token's ``acr`` must be one of the levels
accepted for the kind of person the claims name, see :mod:`gateway.portal.assurance`.

Logging out ends the login here and, where the provider has an ``end_session_endpoint``, its
session too (RP-Initiated Logout), with the ID token as ``id_token_hint``: on a shared computer
the next person must log in again.

What the portal keeps in its signed session cookie is pseudonymous: a login reference (a hash of
issuer and subject), the person's keyed pseudonym (never the BSN), or, for a privacy officer,
the organisation they work for, and the id of the login's row in
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
from authlib.common.urls import add_params_to_uri
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from joserfc.errors import JoseError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway.children.bsn import InvalidBSNError, pseudonym, validate_bsn
from gateway.deps import PseudonymKeyDep, SessionDep
from gateway.notifications.service import language_of, set_language
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.service import find_by_identifier
from gateway.oversight.service import Officer
from gateway.portal import assurance, logins
from gateway.portal.csrf import check_csrf
from gateway.portal.pages import render
from gateway.settings import Settings
from gateway.translations import N_, _, chosen, current
from gateway.translations import SESSION_KEY as LANGUAGE

SESSION_USER = "user"
SESSION_LOGIN = "login"
SESSION_NEXT = "next"
OFFICER_ROLE = "privacy_officer"
OFFICER_AREA = "/portaal/fg"
# What only the ID token may say: who issued it to whom, when, and how the person logged in.
ID_TOKEN_CLAIMS = frozenset(
    {"iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "auth_time", "acr", "amr", "at_hash", "sid"}
)


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


def _end_login(request: Request, login_id: str) -> str | None:
    with request.app.state.sessions() as session:
        id_token = logins.end(session, login_id)
        session.commit()
    return id_token


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
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
    )
    return oauth


def merge_claims(id_token: dict[str, Any], userinfo: dict[str, Any]) -> dict[str, Any]:
    """The person's claims from the ID token and the userinfo answer, which must be about the
    same subject (OpenID Connect Core §5.3.2). The ID token is signed, so where both carry a
    claim its value holds, and how the person logged in comes from it alone."""
    if userinfo.get("sub") != id_token.get("sub"):
        raise LoginRefusedError(
            "De inlogdienst gaf gegevens door over een ander persoon dan die inlogde."
        )
    person = {k: v for k, v in userinfo.items() if k not in ID_TOKEN_CLAIMS}
    return {**person, **id_token}


def identify(
    claims: dict[str, Any], *, settings: Settings, session: Session, pseudonym_key: bytes
) -> PortalUser:
    """Who the provider's claims say logged in, as the portal knows them, if they logged in at
    a level accepted for them."""
    login_ref = hashlib.sha256(f"{settings.login_issuer}|{claims['sub']}".encode()).hexdigest()[:32]
    name = str(claims.get("name") or "")
    roles = claims.get(settings.oidc_roles_claim) or []
    is_officer = OFFICER_ROLE in (roles.split() if isinstance(roles, str) else roles)
    accepted = settings.officer_acr_values if is_officer else settings.parent_acr_values
    if claims.get("acr") not in accepted:
        raise LoginRefusedError(
            _(
                "U bent ingelogd op een te laag niveau. Voor de gegevens van kinderen is "
                "%(levels)s nodig. Log opnieuw in op dat niveau.",
                levels=assurance.names(accepted),
            )
        )
    if is_officer:
        organisation_claim = str(claims.get(settings.oidc_organisation_claim) or "")
        role, _sep, identifier = organisation_claim.partition(":")
        try:
            organisation_role = OrganisationRole(role)
        except ValueError:
            raise LoginRefusedError(
                N_("Uw organisatie is niet bekend bij Kindkoppeling.")
            ) from None
        organisation = find_by_identifier(session, organisation_role, identifier)
        if organisation is None or not organisation.is_active:
            raise LoginRefusedError(
                N_("Uw organisatie is niet (meer) aangesloten bij Kindkoppeling.")
            )
        return PortalUser(
            kind="officer",
            login_ref=login_ref,
            name=name,
            organisation_id=organisation.id,
            gateway_officer=organisation.role == OrganisationRole.GATEWAY,
        )
    try:
        bsn = validate_bsn(str(claims.get(settings.oidc_bsn_claim) or ""))
    except InvalidBSNError:
        raise LoginRefusedError(
            N_("De inlogdienst gaf geen geldig burgerservicenummer door.")
        ) from None
    return PortalUser(
        kind="citizen",
        login_ref=login_ref,
        name=name,
        person_pseudonym=pseudonym(bsn, pseudonym_key),
    )


def _sign_in(
    sessions: Callable[[], Session],
    claims: dict[str, Any],
    id_token: str | None,
    settings: Settings,
    key: bytes,
    language: str | None = None,
) -> tuple[PortalUser, str, str | None]:
    """Who the provider's claims name, a new login for them, and their language (in the thread
    pool). A parent's language is the one they switched to before logging in, else the one
    they chose before, else their browser's; it is kept for their next login and their
    notices."""
    with sessions() as session:
        user = identify(claims, settings=settings, session=session, pseudonym_key=key)
        login_id = logins.start(session, id_token)
        if user.person_pseudonym is not None:
            kept = language_of(session, user.person_pseudonym)
            language = language or kept or current()
            if language != kept:
                set_language(session, user.person_pseudonym, language)
        session.commit()
    return user, login_id, language


async def _provider_claims(oauth: OAuth, token: dict[str, Any]) -> dict[str, Any]:
    """The claims of the ID token Authlib verified, with userinfo's where the provider has it."""
    claims: dict[str, Any] = dict(token["userinfo"])
    metadata = await oauth.login.load_server_metadata()
    if metadata.get("userinfo_endpoint"):
        userinfo = await oauth.login.userinfo(token=token)
        claims = merge_claims(claims, dict(userinfo))
    return claims


def _new_session(request: Request, language: str | None) -> None:
    """An empty session that keeps only the language, if there is one."""
    request.session.clear()
    if language is not None:
        request.session[LANGUAGE] = language


def _message(
    request: Request, status: int, title: str, message: str, link: tuple[str, str] | None = None
) -> Response:
    """A page with one message; the texts are translated here."""
    shown = None if link is None else (link[0], _(link[1]))
    return render(
        request,
        "message.html",
        {"title": _(title), "message": _(message), "link": shown},
        status_code=status,
    )


def _provider_unreachable(request: Request) -> Response:
    return _message(
        request,
        503,
        N_("Inloggen is nu niet mogelijk"),
        N_("De inlogdienst is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."),
        ("/portaal/inloggen", N_("Opnieuw proberen")),
    )


def _provider_invalid(request: Request) -> Response:
    return _message(
        request,
        400,
        N_("Inloggen is niet gelukt"),
        N_("De inlogdienst gaf geen geldig antwoord. Probeer het opnieuw."),
        ("/portaal/inloggen", N_("Opnieuw inloggen")),
    )


def build_router(oauth: OAuth | None, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/portaal", include_in_schema=False)
    callback_url = f"{settings.public_url}/portaal/callback"
    logged_out_url = f"{settings.public_url}/portaal/uitgelogd"

    @router.get("/inloggen")
    async def login(request: Request, next: str | None = None) -> Response:
        if oauth is None:
            return _message(
                request,
                503,
                N_("Inloggen is nu niet mogelijk"),
                N_("Er is geen inlogdienst ingesteld. Probeer het later opnieuw."),
            )
        target = safe_next(next)
        request.session[SESSION_NEXT] = target
        for_officer = target is not None and target.startswith(OFFICER_AREA)
        levels = settings.officer_acr_values if for_officer else settings.parent_acr_values
        try:
            redirect: Response = await oauth.login.authorize_redirect(
                request, callback_url, acr_values=" ".join(levels)
            )
        except httpx2.HTTPError:  # its metadata or keys could not be fetched
            return _provider_unreachable(request)
        return redirect

    @router.get("/callback")
    async def callback(request: Request, key: PseudonymKeyDep) -> Response:
        if oauth is None:
            return RedirectResponse("/portaal/inloggen", status_code=303)
        next_page = request.session.get(SESSION_NEXT)
        language = chosen(request.session.get(LANGUAGE))
        try:
            token = await oauth.login.authorize_access_token(request)
            claims = await _provider_claims(oauth, token)
            user, login_id, language = await run_in_threadpool(
                _sign_in,
                request.app.state.sessions,
                claims,
                token.get("id_token"),
                settings,
                key,
                language,
            )
        except (OAuthError, JoseError, httpx2.HTTPStatusError):
            return _provider_invalid(request)
        except httpx2.HTTPError:
            return _provider_unreachable(request)
        except LoginRefusedError as refused:
            request.session.clear()
            return _message(
                request,
                403,
                N_("U kunt hier niet inloggen"),
                refused.message,
                ("/portaal/inloggen", N_("Opnieuw inloggen")),
            )
        _new_session(request, language)  # a new session for the new login
        request.session[SESSION_USER] = asdict(user)
        request.session[SESSION_LOGIN] = login_id
        home = OFFICER_AREA if user.kind == "officer" else "/portaal"
        target = safe_next(next_page)
        if target and (target.startswith(OFFICER_AREA) != (user.kind == "officer")):
            target = None  # a page for the other kind of user: start at your own home
        return RedirectResponse(target or home, status_code=303)

    @router.post("/uitloggen")
    async def logout(request: Request) -> Response:
        await check_csrf(request)
        login_id = request.session.get(SESSION_LOGIN)
        id_token = None
        if isinstance(login_id, str):
            id_token = await run_in_threadpool(_end_login, request, login_id)
        # The page after logging out is in the same language.
        _new_session(request, chosen(request.session.get(LANGUAGE)))
        end_session = await _end_session_endpoint(oauth)
        if end_session is None:
            return RedirectResponse("/portaal/uitgelogd?inlogdienst=open", status_code=303)
        params = {"client_id": settings.oidc_client_id, "post_logout_redirect_uri": logged_out_url}
        if id_token:
            params["id_token_hint"] = id_token
        return RedirectResponse(add_params_to_uri(end_session, params), status_code=303)

    @router.get("/uitgelogd")
    def logged_out(request: Request, inlogdienst: str | None = None) -> Response:
        message = N_("Sluit de browser als u een gedeelde computer gebruikt.")
        if inlogdienst == "open":
            message = N_(
                "U bent uitgelogd bij Kindkoppeling, maar misschien nog niet bij de "
                "inlogdienst. Sluit de browser als u een gedeelde computer gebruikt."
            )
        return _message(
            request,
            200,
            N_("U bent uitgelogd"),
            message,
            ("/portaal/inloggen", N_("Opnieuw inloggen")),
        )

    return router


async def _end_session_endpoint(oauth: OAuth | None) -> str | None:
    """The provider's RP-Initiated Logout endpoint; None without one, or when its metadata
    cannot be read now (the login here has ended either way)."""
    if oauth is None:
        return None
    try:
        metadata = await oauth.login.load_server_metadata()
    except httpx2.HTTPError:
        return None
    endpoint = metadata.get("end_session_endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint.startswith("http") else None
