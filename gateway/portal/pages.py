"""Rendering portal pages: one Jinja2 environment with autoescaping and gettext
(:mod:`gateway.translations`), dates written for the page's language, and the things every page
needs (who is logged in, the CSRF token for the forms, the page's language and the others)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.responses import HTMLResponse

from gateway import translations
from gateway.portal.csrf import csrf_token
from gateway.translations import current, local_date

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.i18n"]
)
environment.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=translations.gettext, ngettext=translations.ngettext, newstyle=True
)
environment.filters["datum"] = local_date
templates = Jinja2Templates(env=environment)


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    user = request.session.get("user")
    language = current()
    base = {
        "user": user,
        "csrf_token": csrf_token(request),
        "language": language,
        # Where the language switch returns to: this page, unless it is an error (whose path
        # may name something the person may not see).
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if status_code < 400
        else "/portaal",
        "other_languages": [
            (code, translations.name_of(code))
            for code in translations.languages()
            if code != language
        ],
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code
    )
    response.headers["Content-Language"] = language
    response.headers.append("Vary", "Accept-Language")  # a page differs per browser language
    return response
