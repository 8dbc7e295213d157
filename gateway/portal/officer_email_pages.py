"""``/portaal/fg/e-mail``: a privacy officer leaves a work address, or deletes it, to be told
when a break-glass review of their organisation (or, for the gateway's officer, of any) falls
overdue (:mod:`gateway.oversight.overdue`). Sealed and audited like a parent's address
(:class:`gateway.portal.notice_pages.AddressPage`), and kept with the officer's organisation.
Officer pages are Dutch, so its texts are not in the catalogues."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.deps import SessionDep
from gateway.exchanges.deps import ExchangesDep
from gateway.notifications import service
from gateway.portal.csrf import CheckedForm
from gateway.portal.notice_pages import AddressPage
from gateway.portal.officer_pages import CurrentOfficer

router = APIRouter(prefix="/portaal/fg/e-mail", include_in_schema=False)
PAGE = AddressPage(
    "/portaal/fg/e-mail",
    "officer_email.html",
    saved="Uw werkadres is opgeslagen.",
    deleted="Uw werkadres is verwijderd.",
    invalid="Dit is geen e-mailadres.",
)


@router.get("")
def officer_email_page(
    request: Request, session: SessionDep, user: CurrentOfficer, exchanges: ExchangesDep
) -> Response:
    key = service.officer_key(user.login_ref)
    return PAGE.show(request, service.address_of(session, exchanges.keyring, key))


@router.post("")
def officer_email_change(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    key = service.officer_key(user.login_ref)
    return PAGE.change(
        request, session, exchanges.keyring, key, form, user.actor, user.organisation_id
    )
