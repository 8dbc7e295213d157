"""Consent ahead of time (like Mitz) and consent receipts, for parents and children (Dutch).

``/portaal/kinderen/{id}/vooraf`` lets a holder agree now, for one purpose, to a named
organisation or to every organisation of the purpose's recipient role in the region of a
samenwerkingsverband ("elke school in de regio van …"), for chosen fields, until a date within
the purpose's maximum. ``/portaal/toestemmingen/{id}/bewijs`` downloads a receipt of any of the
household's consents (ISO/IEC TS 27560 elements, :mod:`gateway.consent.receipt`).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from gateway.auditing.service import child_reference
from gateway.children.models import Child
from gateway.consent import service as consents
from gateway.consent.receipt import receipt
from gateway.consent.service import Provenance, StandingConsent
from gateway.deps import SessionDep
from gateway.dutch_time import end_of_day
from gateway.errors import ForbiddenError, NotFoundError, ValidationFailedError
from gateway.exchanges import consent_answers
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation, OrganisationStatus
from gateway.organisations.service import list_organisations, organisation_names
from gateway.portal.csrf import CheckedForm
from gateway.portal.family_pages import Citizen, household_of
from gateway.portal.household import Member, consent_of, field_label
from gateway.portal.pages import render
from gateway.translations import N_, _

router = APIRouter(prefix="/portaal", include_in_schema=False)

REGION_CHOICE = {
    "school": N_("Elke school in de regio van %(swv)s"),
    "opvang": N_("Elke kinderopvang in de regio van %(swv)s"),
    "swv": N_("Elk samenwerkingsverband in de regio van %(swv)s"),
    "leerplicht": N_("Elke leerplichtafdeling in de regio van %(swv)s"),
}
NOT_AHEAD = N_("Voor dit doel kan geen toestemming vooraf worden gegeven.")


def _region(role: str, swv_name: str) -> str:
    """Every organisation of a role in an SWV's region, as the holder reads it."""
    return _(REGION_CHOICE.get(role, "%(swv)s"), swv=swv_name)


def _lower_first(text: str) -> str:
    """The label read mid-sentence later ("… vooraf (elke school in de regio van …)")."""
    return text[:1].lower() + text[1:]


def _purposes(exchanges: Exchanges) -> dict[str, dict[str, Any]]:
    """The purposes for which consent may be given ahead of time."""
    register = exchanges.decider.bundle.data["purposes"]
    return {p: s for p, s in register.items() if int(s.get("standing_consent_max_days", 0)) > 0}


def _holder(member: Member) -> str:
    """Only a consent holder gives consent: a parent with gezag, or the child itself."""
    if not (member.is_self or member.gezag):
        raise ForbiddenError(N_("Alleen een ouder met gezag (of het kind zelf) geeft toestemming."))
    return member.holder


def _recipient_role(spec: dict[str, Any]) -> str:
    for route in spec.get("routes", []):
        if route.get("basis") == "consent":
            return str(route["to"])
    raise NotFoundError(NOT_AHEAD)


def _choices(session: Session, role: str) -> list[tuple[str, str]]:
    """(value, label) for "to whom": every organisation of the role in an SWV's region, or one
    named organisation."""
    active = OrganisationStatus.ACTIVE
    regions = [
        (f"regio:{swv.id}", _region(role, swv.name))
        for swv in list_organisations(session, role=OrganisationRole.SWV, status=active)
        if swv.region_codes
    ]
    named = [
        (f"org:{o.id}", _("Alleen %(name)s", name=o.name))
        for o in list_organisations(session, role=OrganisationRole(role), status=active)
    ]
    return regions + named


@router.get("/kinderen/{child_id}/vooraf")
def ahead_purposes(
    child_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    member = household_of(exchanges, session, user).member(child_id)
    _holder(member)
    return render(
        request,
        "consent_ahead.html",
        {"member": member, "purposes": _purposes(exchanges), "spec": None},
    )


def _form(
    request: Request,
    session: Session,
    exchanges: Exchanges,
    member: Member,
    purpose: str,
    *,
    error: str | None = None,
) -> Response:
    spec = _purposes(exchanges).get(purpose)
    if spec is None:
        raise NotFoundError(NOT_AHEAD)
    role = _recipient_role(spec)
    level = consents.standing_level(spec, role) or "signal"
    fields = [
        (name, field_label(spec, name))
        for name, field in spec["fields"].items()
        if consents.LEVEL_RANK[field.get("level", "full")] <= consents.LEVEL_RANK[level]
    ]
    days = int(spec["standing_consent_max_days"])
    today = exchanges.clock().date()
    return render(
        request,
        "consent_ahead.html",
        {
            "member": member,
            "purpose": purpose,
            "spec": spec,
            "fields": fields,
            "choices": _choices(session, role),
            "latest": today + timedelta(days=days),
            "today": today,
            "days": days,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/kinderen/{child_id}/vooraf/{purpose}")
def ahead_form(
    child_id: str,
    purpose: str,
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
) -> Response:
    member = household_of(exchanges, session, user).member(child_id)
    _holder(member)
    return _form(request, session, exchanges, member, purpose)


@router.post("/kinderen/{child_id}/vooraf/{purpose}")
def ahead_give(
    child_id: str,
    purpose: str,
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    member = household_of(exchanges, session, user).member(child_id)
    holder = _holder(member)
    spec = _purposes(exchanges).get(purpose)
    if spec is None:
        raise NotFoundError(NOT_AHEAD)
    try:
        standing = _standing(session, purpose, _recipient_role(spec), form)
        consent_answers.give_standing_consent(
            exchanges,
            session,
            member.child,
            holder,
            standing,
            provenance=Provenance(login_ref=user.login_ref, explanation_version="vooraf-1"),
        )
    except ValidationFailedError as exc:
        session.rollback()
        return _form(request, session, exchanges, member, purpose, error=_(exc.detail))
    return RedirectResponse("/portaal?vooraf=gegeven#toestemmingen", status_code=303)


def _standing(session: Session, purpose: str, role: str, form: Any) -> StandingConsent:
    whom = str(form.get("aan", ""))
    try:
        until = date.fromisoformat(str(form.get("tot", "")))
    except ValueError:
        raise ValidationFailedError(
            N_("Kies tot wanneer de toestemming geldt."),
            errors=[{"pointer": "#/valid_until", "detail": "not a date"}],
        ) from None
    common: dict[str, Any] = {
        "purpose": purpose,
        "fields": [str(f) for f in form.getlist("velden")],
        "valid_until": end_of_day(until),
    }
    kind, _sep, ident = whom.partition(":")
    if kind == "org":
        return StandingConsent(grantee_id=ident, **common)
    if kind == "regio":
        swv = session.get(Organisation, ident)
        if swv is not None and swv.role == OrganisationRole.SWV and swv.region_codes:
            return StandingConsent(
                scope_role=role,
                scope_gemeenten=list(swv.region_codes),
                scope_label=_lower_first(_region(role, swv.name))[:200],
                **common,
            )
    raise ValidationFailedError(
        N_("Kies aan wie u toestemming geeft."),
        errors=[{"pointer": "#/grantee", "detail": "choose a recipient"}],
    )


@router.get("/toestemmingen/{consent_id}/bewijs")
def consent_receipt(
    consent_id: str, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    """A receipt of one of the household's consents (ISO/IEC TS 27560 elements), as JSON."""
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    spec = exchanges.decider.bundle.purpose(consent.purpose) or {}
    names = organisation_names(session, [consent.grantee_id] if consent.grantee_id else [])
    child = session.get_one(Child, consent.child_id)
    document = receipt(
        consent,
        spec=spec,
        recipient=consent.grantee_text(names),
        child_ref=child_reference(session, child),
        now=exchanges.clock(),
    )
    session.commit()  # a first reference to the child is kept
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="toestemming-{consent.id[:8]}.json"'
        },
    )
