"""``/api/v1/absence-reports``, ``/api/v1/exemptions``, ``/api/v1/exemption-checks`` and
``/api/v1/alerts``: the leerplicht flows (see :mod:`gateway.signals`)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Response, status

from gateway.deps import CurrentClient, ForStaff, PseudonymKeyDep, SessionDep, require_json
from gateway.errors import ForbiddenError, ValidationFailedError
from gateway.exchanges.api import named_child
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.schemas import ExchangeOut
from gateway.one_hop import OneHopRoute
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.service import parse_gemeente
from gateway.signals.deps import SignalsDep
from gateway.signals.schemas import (
    AbsenceReportCreate,
    AbsenceReportOut,
    AlertList,
    AlertOut,
    ExemptionCheckCreate,
    ExemptionCreate,
    ExemptionList,
    ExemptionOut,
    SignalOut,
)
from gateway.signals.service import VRIJSTELLING
from gateway.signals.thresholds import Absence, Facts, assess

router = APIRouter(
    route_class=OneHopRoute,
    tags=["leerplicht"],
    dependencies=[Depends(require_json), ForStaff],
)


@router.post(
    "/absence-reports",
    status_code=status.HTTP_201_CREATED,
    summary="Report absence; a met threshold becomes a verzuimmelding to leerplicht",
    responses={200: {"description": "No threshold met (nothing sent), or a report repeated."}},
)
def report_absence(
    body: AbsenceReportCreate,
    client: CurrentClient,
    session: SessionDep,
    signals: SignalsDep,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
    response: Response,
) -> AbsenceReportOut:
    if client.organisation.role not in (OrganisationRole.SCHOOL, OrganisationRole.SWV):
        raise ForbiddenError("Only a school or a samenwerkingsverband reports absence.")
    gemeente = parse_gemeente(body.gemeente)
    today = signals.today()
    _not_after(today, body)
    facts = Facts(
        enrolled=body.enrolled,
        absent_since=body.absent_since,
        not_enrolled_since=body.not_enrolled_since,
        unexcused=[Absence(a.date, a.hours) for a in body.unexcused_absences],
    )
    signal = assess(facts, today)
    if signal is None:
        # Below every threshold: nothing is sent and nothing about the child is stored.
        response.status_code = status.HTTP_200_OK
        return AbsenceReportOut(
            signal=None, exchange=None, detail="No threshold is met; nothing was sent."
        )
    child = named_child(session, exchanges, client.organisation, body.child, key)
    reported = signals.report(session, client.organisation, client.actor, child, gemeente, signal)
    if not reported.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/exchanges/{reported.exchange.id}"
    sent = reported.signal is not None
    return AbsenceReportOut(
        signal=SignalOut.of(signal),
        exchange=ExchangeOut.of(reported.exchange),
        detail=(
            f"A {signal.type.value} signal was delivered to the leerplicht office of {gemeente}."
            if sent
            else "The policy did not allow the signal; see the exchange's decision."
        ),
    )


@router.post(
    "/exemptions",
    status_code=status.HTTP_201_CREATED,
    summary="Record that a child is exempted from leerplicht (leerplicht only); never why",
)
def record_exemption(
    body: ExemptionCreate,
    client: CurrentClient,
    session: SessionDep,
    signals: SignalsDep,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
    response: Response,
) -> ExemptionOut:
    if client.organisation.role is not OrganisationRole.LEERPLICHT:
        raise ForbiddenError("Only a leerplicht office records exemptions.")
    facts = {"exempted": True, "article": body.article, "valid_until": str(body.valid_until)}
    exchanges.schemas.validate(VRIJSTELLING, facts)  # the purpose's schema is the one truth
    child = named_child(session, exchanges, client.organisation, body.child, key)
    exemption = signals.record_exemption(
        session,
        client.organisation,
        client.actor,
        child,
        article=body.article,
        valid_from=body.valid_from or signals.today(),
        valid_until=body.valid_until,
    )
    response.headers["Location"] = f"/api/v1/exemptions/{exemption.id}"
    return ExemptionOut.of(exemption)


@router.get("/exemptions", summary="The exemptions your leerplicht office recorded")
def list_exemptions(
    client: CurrentClient, session: SessionDep, signals: SignalsDep
) -> ExemptionList:
    if client.organisation.role is not OrganisationRole.LEERPLICHT:
        raise ForbiddenError("Only a leerplicht office keeps exemptions.")
    found = signals.exemptions_of(session, client.organisation)
    return ExemptionList(items=[ExemptionOut.of(e) for e in found])


@router.post(
    "/exemption-checks",
    status_code=status.HTTP_201_CREATED,
    summary="Ask leerplicht whether a child is exempted; answered at once from its register",
)
def check_exemption(
    body: ExemptionCheckCreate,
    client: CurrentClient,
    session: SessionDep,
    signals: SignalsDep,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
    response: Response,
) -> ExchangeOut:
    gemeente = parse_gemeente(body.gemeente)
    child = named_child(session, exchanges, client.organisation, body.child, key)
    exchange = signals.check_exemption(session, client.organisation, client.actor, child, gemeente)
    response.headers["Location"] = f"/api/v1/exchanges/{exchange.id}"
    return ExchangeOut.of(exchange)


@router.get("/alerts", summary="Children back in view: exempted or at home for 3 months")
def list_alerts(client: CurrentClient, session: SessionDep, signals: SignalsDep) -> AlertList:
    found = signals.alerts_for(session, client.organisation)
    return AlertList(items=[AlertOut.of(a) for a in found])


def _not_after(today: date, body: AbsenceReportCreate) -> None:
    """Absence is reported after the fact: no date may lie after today."""
    dated = [
        ("#/absent_since", body.absent_since),
        ("#/not_enrolled_since", body.not_enrolled_since),
        *(
            (f"#/unexcused_absences/{i}/date", a.date)
            for i, a in enumerate(body.unexcused_absences)
        ),
    ]
    errors = [{"pointer": p, "detail": "lies after today"} for p, d in dated if d and d > today]
    if errors:
        raise ValidationFailedError("Absence cannot be reported ahead of time.", errors=errors)
