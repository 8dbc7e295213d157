"""Mounting the portal on the application: signed session cookies, static files, the login
flow, the dev identity provider (outside production only), the pages, and HTML error pages for
the portal's paths (the API keeps problem+json)."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response

from gateway.portal import (
    consent_pages,
    dev_oidc,
    family_pages,
    language_pages,
    login,
    notice_pages,
    officer_email_pages,
    officer_pages,
)
from gateway.portal.login import LoginRequiredError
from gateway.portal.logins import LOGIN_LIFETIME
from gateway.portal.pages import STATIC, render
from gateway.settings import Settings
from gateway.translations import N_, LanguageMiddleware, _

SESSION_COOKIE = "kk_session"
HTML_PREFIXES = ("/portaal", "/dev-oidc")
STATIC_PATH = "/portaal/static"


ERROR_TITLES = {
    403: N_("Dit mag niet"),
    404: N_("Niet gevonden"),
    409: N_("Dit kan nu niet"),
    410: N_("Niet meer beschikbaar"),
    422: N_("Controleer uw invoer"),
    429: N_("Even rustig aan"),
    503: N_("Even niet bereikbaar"),
}


def install_portal(app: FastAPI, settings: Settings, session_secret: bytes) -> None:
    client_secret = _secret(settings)
    if settings.is_dev and settings.oidc_issuer is None:
        provider = dev_oidc.DevProvider(
            settings.dev_oidc_issuer,
            dev_oidc.DevClient(
                settings.oidc_client_id,
                client_secret,
                f"{settings.public_url}/portaal/callback",
                f"{settings.public_url}/portaal/uitgelogd",
            ),
        )
        app.include_router(dev_oidc.build_router(provider))
    app.include_router(login.build_router(login.make_client(settings, client_secret), settings))
    app.include_router(family_pages.router)
    app.include_router(notice_pages.router)
    app.include_router(consent_pages.router)
    app.include_router(officer_pages.router)
    app.include_router(officer_email_pages.router)
    app.include_router(language_pages.router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="portal-static")
    app.add_middleware(LanguageMiddleware, HTML_PREFIXES)  # inside the session, which it reads
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret.hex(),
        session_cookie=SESSION_COOKIE,
        max_age=int(LOGIN_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_exception_handler(LoginRequiredError, _to_login)
    app.state.html_errors = html_error


def _secret(settings: Settings) -> str:
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    # The dev provider lives in this process: it and the portal share a secret made now.
    return secrets.token_urlsafe(32)


async def _to_login(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/portaal/inloggen?next={quote(target)}", status_code=303)


def html_error(request: Request, status: int, title: str, detail: str) -> Response | None:
    """An HTML page for errors on the portal's paths; None elsewhere (problem+json)."""
    if not request.url.path.startswith(HTML_PREFIXES):
        return None
    title = ERROR_TITLES.get(status, N_("Er ging iets mis"))
    return render(
        request,
        "error.html",
        {"title": _(title), "detail": _(detail)},
        status_code=status,
    )
