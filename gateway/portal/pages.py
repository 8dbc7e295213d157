"""Rendering portal pages: one Jinja2 environment with autoescaping, Dutch dates, and the
things every page needs (who is logged in, the CSRF token for the logout form)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from gateway.portal.csrf import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
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


def end_of_day(day: date) -> datetime:
    """The last moment of a day a person picked, in the Netherlands (UTC): a consent "until 30
    June" holds through 30 June 23:59:59 Dutch time, summer or winter, and not into 1 July."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=DUTCH_TIME)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


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
