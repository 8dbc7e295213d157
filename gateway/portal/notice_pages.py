"""``/portaal/e-mail``: a parent (or a child of 12 or older) leaves an e-mail address for notices
that something waits in Kindkoppeling, or deletes it. The address is sealed, used for
nothing else, and its setting and deletion are on the audit log (without the address).

:class:`AddressPage` is the page and its form, which the officers' work address
(:mod:`gateway.portal.officer_email_pages`) shares with its own template and texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from audit.entry import Actor
from gateway.deps import SessionDep
from gateway.errors import ValidationFailedError
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.sealing import MasterKeyring
from gateway.notifications import service
from gateway.portal.csrf import CheckedForm
from gateway.portal.family_pages import Citizen
from gateway.portal.pages import render
from gateway.translations import N_, _

router = APIRouter(prefix="/portaal/e-mail", include_in_schema=False)


@dataclass(frozen=True)
class AddressPage:
    """A page where someone leaves or deletes the address their notices go to."""

    path: str
    template: str
    saved: str
    deleted: str
    invalid: str

    def show(
        self,
        request: Request,
        address: str | None,
        *,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        done = request.query_params.get("klaar")
        notice = {"opgeslagen": self.saved, "verwijderd": self.deleted}.get(done or "")
        return render(
            request,
            self.template,
            {
                "address": None if address is None else service.masked(address),
                "error": error,
                "notice": None if notice is None else _(notice),
            },
            status_code=status_code,
        )

    def change(
        self,
        request: Request,
        session: Session,
        keyring: MasterKeyring,
        key: str,
        form: FormData,
        actor: Actor,
        organisation_id: str | None = None,
    ) -> Response:
        """Delete the address, or keep the one in the form (the page again if it is none)."""
        if form.get("actie") == "verwijderen":
            service.delete_address(session, key, actor)
            return RedirectResponse(f"{self.path}?klaar=verwijderd", status_code=303)
        address = str(form.get("email", ""))
        try:
            service.set_address(session, keyring, key, address, actor, organisation_id)
        except ValidationFailedError:
            held = service.address_of(session, keyring, key)
            return self.show(request, held, error=_(self.invalid), status_code=422)
        return RedirectResponse(f"{self.path}?klaar=opgeslagen", status_code=303)


PAGE = AddressPage(
    "/portaal/e-mail",
    "email.html",
    saved=N_("Uw e-mailadres is opgeslagen."),
    deleted=N_("Uw e-mailadres is verwijderd."),
    invalid=N_("Dit is geen e-mailadres. Controleer het en probeer het opnieuw."),
)


def _actor(login_ref: str) -> Actor:
    return Actor(type="user", id=login_ref, role="citizen")


@router.get("")
def email_page(
    request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    assert user.person_pseudonym
    return PAGE.show(request, service.address_of(session, exchanges.keyring, user.person_pseudonym))


@router.post("")
def email_change(
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    assert user.person_pseudonym
    return PAGE.change(
        request, session, exchanges.keyring, user.person_pseudonym, form, _actor(user.login_ref)
    )
