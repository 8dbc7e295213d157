"""Rendering portal pages: one Jinja2 environment with autoescaping, Dutch dates, and the
things every page needs (who is logged in, the CSRF token for the logout form)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from gateway.dutch_time import DUTCH_TIME
from gateway.portal.csrf import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

templates = Jinja2Templates(directory=TEMPLATES)


def dutch_date(value: date | datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):  # an audit entry's ISO timestamp
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(DUTCH_TIME)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


templates.env.filters["datum"] = dutch_date


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    user = request.session.get("user")
    base = {"user": user, "csrf_token": csrf_token(request)}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
