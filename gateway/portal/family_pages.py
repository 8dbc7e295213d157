"""The portal for parents and for children of 12 and older (Dutch): my children, requests
waiting for an answer, consents in force with revoke, and the access history.

Every page works from the household of the logged-in person (``household.py``); every form
carries the CSRF token; every answer goes through the same exchange service the API uses, so a
consent and its consequences (delivery allowed, payloads shredded) commit with their audit
entries.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from audit.entry import Actor
from gateway.auditing.service import access_history
from gateway.consent.models import Consent, ConsentStatus
from gateway.consent.service import Provenance
from gateway.deps import SessionDep
from gateway.errors import NotFoundError
from gateway.exchanges import consent_answers, held_payloads
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.models import Exchange
from gateway.exchanges.work import Exchanges
from gateway.inzage import service as inzage
from gateway.organisations.service import organisation_names
from gateway.portal.csrf import CheckedForm
from gateway.portal.household import (
    Explanation,
    Household,
    Member,
    consent_of,
    consents_of,
    explain,
    field_label,
    household,
)
from gateway.portal.login import LoginRequiredError, PortalUser, current_user
from gateway.portal.pages import render
from gateway.translations import N_, _

ACTION_TEXT = {
    "delivery": N_("%(source)s leverde gegevens aan Kindkoppeling voor %(organisation)s"),
    "fetch": N_("%(organisation)s heeft gegevens ontvangen"),
    "shred": N_("Gegevens zijn onherstelbaar gewist bij %(organisation)s"),
    "consent.grant": N_("Toestemming gegeven voor %(organisation)s"),
    "consent.decline": N_("Toestemming geweigerd voor %(organisation)s"),
    "consent.revoke": N_("Toestemming ingetrokken voor %(organisation)s"),
}


def citizen(request: Request, session: SessionDep) -> PortalUser:
    user = current_user(request, session)
    if user.kind != "citizen":
        raise LoginRequiredError()
    return user


Citizen = Annotated[PortalUser, Depends(citizen)]


def household_of(exchanges: Exchanges, session: Session, user: PortalUser) -> Household:
    assert user.person_pseudonym
    return household(session, user.person_pseudonym, exchanges.clock().date())


def _actor(user: PortalUser) -> Actor:
    return Actor(type="user", id=user.login_ref, role="citizen")


router = APIRouter(prefix="/portaal", include_in_schema=False)


@router.get("")
def home(request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep) -> Response:
    family = household_of(exchanges, session, user)
    bundle = exchanges.decider.bundle
    waiting = consents_of(session, family, ConsentStatus.PROPOSED)
    active = consents_of(session, family, ConsentStatus.ACTIVE)
    names = organisation_names(session, [c.grantee_id for c in waiting + active if c.grantee_id])
    grantees = {c.id: c.grantee_text(names) for c in waiting + active}
    used = relying_exchanges(session, [c for c in active if c.standing])
    names.update(organisation_names(session, [e.recipient_id for es in used.values() for e in es]))
    return render(
        request,
        "home.html",
        {
            "family": family,
            "waiting": waiting,
            "active": active,
            "grantees": grantees,
            "used": used,
            "names": names,
            "titles": {
                c.purpose: _((bundle.purpose(c.purpose) or {}).get("title", c.purpose))
                for c in waiting + active
            },
            "members": {m.child.id: m for m in family.members},
        },
    )


def _request_page(
    request: Request,
    family: Household,
    consent: Consent,
    explanation: Explanation,
    *,
    status_code: int = 200,
    changed: bool = False,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "request.html",
        {
            "consent": consent,
            "member": family.member(consent.child_id),
            "explanation": explanation,
            "changed": changed,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/verzoeken/{consent_id}")
def request_page(
    consent_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    explanation = explain(session, exchanges.decider.bundle, consent)
    return _request_page(request, family, consent, explanation)


@router.post("/verzoeken/{consent_id}")
def answer(
    consent_id: str,
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    explanation = explain(session, exchanges.decider.bundle, consent)
    if form.get("explanation_version") != explanation.version:
        # The text changed since the page was shown: show the new one and ask again.
        return _request_page(request, family, consent, explanation, status_code=409, changed=True)
    grant = form.get("answer") == "grant"
    fields = [str(f) for f in form.getlist("fields")]
    if grant and not fields:
        return _request_page(
            request,
            family,
            consent,
            explanation,
            status_code=422,
            error=_("Kies ten minste één gegeven, of weiger het verzoek."),
        )
    consent_answers.answer_consent(
        exchanges,
        session,
        consent.id,
        consent.holder,
        grant=grant,
        fields=fields if grant else None,
        provenance=Provenance(user.login_ref, explanation.version),
    )
    return RedirectResponse(f"/portaal/verzoeken/{consent.id}/beantwoord", status_code=303)


@router.get("/verzoeken/{consent_id}/beantwoord")
def answered(
    consent_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    return render(request, "answered.html", {"consent": consent})


@router.get("/toestemmingen/{consent_id}/intrekken")
def revoke_page(
    consent_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    if consent.status != ConsentStatus.ACTIVE:
        raise NotFoundError(N_("Deze toestemming geldt niet (meer)."))
    explanation = explain(session, exchanges.decider.bundle, consent)
    return render(request, "revoke.html", {"consent": consent, "explanation": explanation})


@router.post("/toestemmingen/{consent_id}/intrekken")
def revoke(
    consent_id: str,
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    _: CheckedForm,
) -> Response:
    family = household_of(exchanges, session, user)
    consent = consent_of(session, family, consent_id)
    consent_answers.revoke_consent(
        exchanges, session, consent.id, consent.holder, via=user.login_ref
    )
    return RedirectResponse(f"/portaal/verzoeken/{consent.id}/beantwoord", status_code=303)


@router.get("/kinderen/{child_id}/geschiedenis")
def history(
    child_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    family = household_of(exchanges, session, user)
    member = family.member(child_id)
    entries = access_history(session, member.child.pseudonym, _actor(user))
    bundle = exchanges.decider.bundle
    names = organisation_names(
        session, [i for e in entries for i in (e["requester_id"], e["source_id"]) if i]
    )
    ahead = ahead_of_time(session, member, [e["exchange_id"] for e in entries])
    rows = []
    for entry in entries:
        spec = bundle.purpose(entry["purpose"] or "") or {}
        organisation = names.get(entry["requester_id"] or "", _("een organisatie"))
        what = ACTION_TEXT.get(entry["action"])
        rows.append(
            {
                "when": entry["timestamp"],
                "what": entry["action"]
                if what is None
                else _(
                    what,
                    organisation=organisation,
                    source=names.get(entry["source_id"] or "", _("een organisatie")),
                ),
                "staff_role": entry["extra"].get("staff_role"),
                "purpose": _(spec.get("title", entry["purpose"])),
                "fields": [field_label(spec, f) for f in entry["fields"]],
                "informed": entry["legal_basis"] in {"legal_duty", "public_task"},
                "basis": entry["legal_basis"],
                "emergency": entry["emergency"],
                "ahead": ahead.get(entry["exchange_id"] or ""),
            }
        )
    return render(request, "history.html", {"member": member, "rows": rows})


def relying_exchanges(session: Session, standing: list[Consent]) -> dict[str, list[Exchange]]:
    """For each consent given ahead of time, the exchanges that relied on it, oldest first."""
    found: dict[str, list[Exchange]] = {c.id: [] for c in standing}
    if not standing:
        return found
    candidates = session.scalars(
        select(Exchange)
        .where(Exchange.child_id.in_({c.child_id for c in standing}))
        .order_by(Exchange.created_at)
    )
    for exchange in candidates:
        for consent_id in exchange.relied_consent_ids:
            if consent_id in found:
                found[consent_id].append(exchange)
    return found


def ahead_of_time(
    session: Session, member: Member, exchange_ids: list[str | None]
) -> dict[str, Consent]:
    """Which of these exchanges relied on a consent this person gave ahead of time, and which."""
    standing = {
        c.id: c
        for c in session.scalars(
            select(Consent).where(
                Consent.child_id == member.child.id,
                Consent.holder == member.holder,
                Consent.standing.is_(True),
            )
        )
    }
    wanted = {i for i in exchange_ids if i}
    if not standing or not wanted:
        return {}
    found = {}
    for exchange in session.scalars(select(Exchange).where(Exchange.id.in_(wanted))):
        relied = [standing[i] for i in exchange.relied_consent_ids if i in standing]
        if relied:
            found[exchange.id] = relied[0]
    return found


@router.get("/kinderen/{child_id}/gegevens")
def held_page(
    child_id: str, request: Request, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    """What Kindkoppeling holds for the child right now, to read (each read is recorded)."""
    member = household_of(exchanges, session, user).member(child_id)
    found = inzage.held(session, exchanges, member, _actor(user))
    bundle = exchanges.decider.bundle
    names = organisation_names(
        session, [i for h in found for i in (h.exchange.source_id, h.exchange.recipient_id)]
    )
    items = []
    for h in found:
        spec = bundle.purpose(h.exchange.purpose) or {}
        items.append(
            {
                "exchange_id": h.exchange.id,
                "may_react": bool(spec.get("parent_reactions")),
                "reactions": held_payloads.reactions_of(exchanges, h.exchange),
                "purpose": _(spec.get("title", h.exchange.purpose)),
                "source": names.get(h.exchange.source_id, ""),
                "recipient": names.get(h.exchange.recipient_id, ""),
                "until": h.exchange.expires_at,
                "fields": [(field_label(spec, k), v) for k, v in sorted(h.fields.items())],
            }
        )
    return render(request, "held.html", {"member": member, "items": items})


@router.post("/kinderen/{child_id}/gegevens/{exchange_id}/reactie")
def react(
    child_id: str,
    exchange_id: str,
    request: Request,
    session: SessionDep,
    user: Citizen,
    exchanges: ExchangesDep,
    form: CheckedForm,
) -> Response:
    """A parent's reaction (zienswijze) to what is held, where the purpose allows one; it goes
    to the recipient with the payload."""
    member = household_of(exchanges, session, user).member(child_id)
    found = inzage.held_exchange(session, member, exchange_id)
    held_payloads.add_reaction(
        exchanges,
        session,
        found,
        member.child,
        _actor(user),
        relation=member.relation if not member.is_self else "kind",
        text=str(form.get("reactie", "")),
    )
    return RedirectResponse(f"/portaal/kinderen/{child_id}/gegevens#reactie-klaar", status_code=303)


@router.get("/kinderen/{child_id}/download")
def held_download(
    child_id: str, session: SessionDep, user: Citizen, exchanges: ExchangesDep
) -> Response:
    """Everything held about the child as one JSON file (gateway/inzage/download.schema.json)."""
    member = household_of(exchanges, session, user).member(child_id)
    document = inzage.download(session, exchanges, member, _actor(user))
    stamp = exchanges.clock().date().isoformat()
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2, default=str),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="kindkoppeling-{stamp}.json"'},
    )
