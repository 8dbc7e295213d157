"""``/portaal/fg/e-mail``: a privacy officer leaves a work address, or deletes it, to be told
when a break-glass review of their organisation (or, for the gateway's officer, of any) falls
overdue (:mod:`gateway.oversight.overdue`). Sealed and audited like a parent's address, and kept
with the officer's organisation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from gateway.deps import SessionDep
from gateway.errors import ValidationFailedError
from gateway.exchanges.deps import ExchangesDep
from gateway.notifications import service
from gateway.portal.csrf import CheckedForm
from gateway.portal.officer_pages import CurrentOfficer
from gateway.portal.pages import render

router = APIRouter(prefix="/portaal/fg/e-mail", include_in_schema=False)
NOTICES = {"opgeslagen": "Uw werkadres is opgeslagen.", "verwijderd": "Uw werkadres is verwijderd."}


def _page(
    request: Request, address: str | None, *, error: str | None = None, status_code: int = 200
) -> Response:
    notice = NOTICES.get(request.query_params.get("klaar") or "")
    shown = None if address is None else service.masked(address)
    return render(
        request,
        "officer_email.html",
        {"address": shown, "error": error, "notice": notice},
        status_code=status_code,
    )


@router.get("")
def officer_email_page(
    request: Request, session: SessionDep, user: CurrentOfficer, exchanges: ExchangesDep
) -> Response:
    key = service.officer_key(user.login_ref)
    return _page(request, service.address_of(session, exchanges.keyring, key))


@router.post("")
def officer_email_change(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    key = service.officer_key(user.login_ref)
    if form.get("actie") == "verwijderen":
        service.delete_address(session, key, user.actor)
        return RedirectResponse("/portaal/fg/e-mail?klaar=verwijderd", status_code=303)
    try:
        service.set_address(
            session,
            exchanges.keyring,
            key,
            str(form.get("email", "")),
            user.actor,
            organisation_id=user.organisation_id,
        )
    except ValidationFailedError:
        held = service.address_of(session, exchanges.keyring, key)
        return _page(request, held, error="Dit is geen e-mailadres.", status_code=422)
    return RedirectResponse("/portaal/fg/e-mail?klaar=opgeslagen", status_code=303)
