"""``POST /portaal/taal``: the language switch on every portal page. The choice is kept in the
session, and for a logged-in parent or child also with their pseudonym, so that their next
login starts in it and their notices are written in it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from gateway.deps import SessionDep
from gateway.errors import ValidationFailedError
from gateway.notifications.service import set_language
from gateway.portal.csrf import CheckedForm
from gateway.portal.login import LoginRequiredError, PortalUser, current_user, safe_next
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
    try:
        user: PortalUser | None = current_user(request, session)
    except LoginRequiredError:
        user = None  # not logged in (any more): the session alone keeps the choice
    request.session[SESSION_KEY] = language
    if user is not None and user.person_pseudonym is not None:
        set_language(session, user.person_pseudonym, language)
        session.commit()
    back = safe_next(str(form.get("terug") or "")) or "/portaal"
    return RedirectResponse(back, status_code=303)
