"""CSRF protection for every portal form: a random token per session, a hidden field in each
form, and a constant-time comparison on every POST (synchroniser token pattern). Session
cookies are also ``SameSite=Lax``; the token is what holds when that is not enough."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from gateway.errors import FORBIDDEN, ForbiddenError
from gateway.translations import N_

SESSION_KEY = "csrf"
FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


async def check_csrf(request: Request) -> FormData:
    """The submitted form, if it carries this session's token; 403 otherwise."""
    form = await request.form()
    sent = form.get(FIELD)
    expected = request.session.get(SESSION_KEY)
    if not (
        isinstance(sent, str)
        and isinstance(expected, str)
        and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise ForbiddenError(
            N_(
                "Dit formulier is verlopen of komt niet van deze site. Ga terug, laad de pagina "
                "opnieuw en probeer het nog eens."
            ),
            problem=FORBIDDEN,
        )
    return form


# The checked form as a dependency: read on the event loop, so the handler can be a plain
# function that FastAPI runs on its thread pool, with its database work off the event loop.
CheckedForm = Annotated[FormData, Depends(check_csrf)]
