"""``POST /portaal/taal``: the language switch on every portal page. The choice is kept in the
session, and for a logged-in parent or child also with their pseudonym, so that their next
login starts in it and their notices are written in it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from gateway.deps import SessionDep
from gateway.errors import ValidationFailedError
from gateway.notifications.service import set_language
from gateway.portal import logins
from gateway.portal.csrf import CheckedForm
from gateway.portal.login import SESSION_LOGIN, SESSION_USER, safe_next
from gateway.translations import N_, SESSION_KEY, chosen

router = APIRouter(prefix="/portaal", include_in_schema=False)


@router.post("/taal")
def switch_language(request: Request, session: SessionDep, form: CheckedForm) -> Response:
    language = chosen(form.get("taal"))
    if language is None:
        raise ValidationFailedError(
            N_("Deze taal kennen wij niet."),
            errors=[{"pointer": "#/taal", "detail": "not a language of the portal"}],
        )
    request.session[SESSION_KEY] = language
    user = request.session.get(SESSION_USER)
    login_id = request.session.get(SESSION_LOGIN)
    if (
        isinstance(user, dict)
        and user.get("person_pseudonym")
        and isinstance(login_id, str)
        and logins.is_live(session, login_id)
    ):
        set_language(session, str(user["person_pseudonym"]), language)
        session.commit()
    back = safe_next(str(form.get("terug") or "")) or "/portaal"
    return RedirectResponse(back, status_code=303)
