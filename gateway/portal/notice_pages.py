"""``/portaal/e-mail``: a parent (or a child of 12 or older) leaves an e-mail address for notices
that something waits in Kindkoppeling, or deletes it. The address is sealed, used for
nothing else, and its setting and deletion are on the audit log (without the address).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from audit.entry import Actor
from gateway.deps import SessionDep
from gateway.errors import ValidationFailedError
from gateway.exchanges.deps import ExchangesDep
from gateway.notifications import service
from gateway.portal.csrf import CheckedForm
from gateway.portal.family_pages import Citizen
from gateway.portal.pages import render
from gateway.translations import _

router = APIRouter(prefix="/portaal/e-mail", include_in_schema=False)


def _actor(login_ref: str) -> Actor:
    return Actor(type="user", id=login_ref, role="citizen")


def _page(
    request: Request,
    address: str | None,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    shown = None if address is None else service.masked(address)
    return render(
        request,
        "email.html",
        {"address": shown, "error": error, "notice": notice},
        status_code=status_code,
    )


@router.get("")
def email_page(
    request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    assert user.person_pseudonym
    address = service.address_of(session, exchanges.keyring, user.person_pseudonym)
    saved = request.query_params.get("klaar")
    notice = {
        "opgeslagen": _("Uw e-mailadres is opgeslagen."),
        "verwijderd": _("Uw e-mailadres is verwijderd."),
    }.get(saved or "")
    return _page(request, address, notice=notice)


@router.post("")
def email_change(
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    assert user.person_pseudonym
    actor = _actor(user.login_ref)
    if form.get("actie") == "verwijderen":
        service.delete_address(session, user.person_pseudonym, actor)
        return RedirectResponse("/portaal/e-mail?klaar=verwijderd", status_code=303)
    try:
        service.set_address(
            session, exchanges.keyring, user.person_pseudonym, str(form.get("email", "")), actor
        )
    except ValidationFailedError:
        held = service.address_of(session, exchanges.keyring, user.person_pseudonym)
        return _page(
            request,
            held,
            error=_("Dit is geen e-mailadres. Controleer het en probeer het opnieuw."),
            status_code=422,
        )
    return RedirectResponse("/portaal/e-mail?klaar=opgeslagen", status_code=303)
