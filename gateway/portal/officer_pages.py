"""Pages for privacy officers (Dutch): the log's integrity, a search of the audit log, the
break-glass review queue, denied requests, an exchange's kept decisions with a replay
("Beslissing opnieuw uitrekenen"), an export with proofs, a chart of exchanges per purpose per
week, and the anonymised statistics for policy makers with a CSV download and a chart (SVG
drawn on the server; no scripts).

An organisation's officer sees their own organisation's records; the gateway's officer sees all.
Every read of the log here is itself recorded.
"""

from __future__ import annotations

import io
import re
import zipfile
from contextlib import suppress
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from audit import store
from audit.store import EntryFilter
from gateway.auditing import exports, witnessing
from gateway.auditing.service import NO_SUCH_CHILD, checkpoint, read_entries
from gateway.children.bsn import InvalidBSNError, pseudonym, validate_bsn
from gateway.decisions.models import DecisionRecord
from gateway.decisions.replay import Replayed
from gateway.deps import (
    AuditSignerDep,
    AuditWitnessesDep,
    PseudonymKeyDep,
    RateLimitsDep,
    SessionDep,
)
from gateway.errors import ValidationFailedError
from gateway.exchanges.deps import ExchangesDep
from gateway.exchanges.models import Exchange
from gateway.exchanges.work import Exchanges
from gateway.notifications.models import ContactAddress
from gateway.notifications.service import officer_key
from gateway.organisations.service import organisation_names
from gateway.oversight import service as oversight
from gateway.oversight.service import Officer
from gateway.portal.csrf import CheckedForm
from gateway.portal.decision_text import EXCHANGE_STATUS, describe
from gateway.portal.login import current_officer
from gateway.portal.pages import render
from gateway.statistics.api import SCHOOL_YEAR
from gateway.statistics.service import ALL, Statistics, months_of, of_school_year

PAGE_SIZE = 50
LOG_FILTERS = (
    "kind",
    "doel",
    "actie",
    "uitkomst",
    "spoor",
    "organisatie",
    "medewerker",
    "van",
    "tot",
)  # the search form's fields
EXPORT_LIMIT = 100_000


def limited_officer(
    request: Request,
    officer: Annotated[Officer, Depends(current_officer)],
    rate_limits: RateLimitsDep,
    session: SessionDep,
    witnesses: AuditWitnessesDep,
) -> Officer:
    """The logged-in officer, within the API's rate limit on their own key, which their reads
    of the audit API share: these pages read the log too, and an export reads up to
    EXPORT_LIMIT entries. Every officer page shows a witness's alarm (``base.html``)."""
    rate_limits.officer(officer.actor.id)
    if witnesses.configured:
        request.state.witness_alarms = witnessing.alarms(session, witnesses)
    return officer


CurrentOfficer = Annotated[Officer, Depends(limited_officer)]
router = APIRouter(prefix="/portaal/fg", include_in_schema=False)


@router.get("")
def dashboard(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    signer: AuditSignerDep,
    witnesses: AuditWitnessesDep,
) -> Response:
    checkpoint(session, signer)  # sign what has been appended since the last one
    return render(
        request,
        "officer_home.html",
        {
            "integrity": oversight.integrity(session, signer),
            "witnessing": witnessing.standing(session, witnesses) if witnesses.configured else None,
            "queue": oversight.pending_reviews(session, user),
            "overdue": oversight.overdue_reviews(session, user, datetime.now(UTC)),
            "denied": oversight.denied_count(session, user),
            "notified": session.get(ContactAddress, officer_key(user.login_ref)) is not None,
            "sees_all": user.sees_all,
            "organisation": organisation_names(session, [user.organisation_id]).get(
                user.organisation_id, ""
            ),
        },
    )


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    moment = datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
    return moment


@router.get("/logboek")
def search(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
    kind: str | None = None,
    doel: str | None = None,
    actie: str | None = None,
    uitkomst: str | None = None,
    spoor: str | None = None,
    organisatie: str | None = None,
    medewerker: str | None = None,
    van: str | None = None,
    tot: str | None = None,
    pagina: int = 1,
) -> Response:
    filters = {
        "kind": kind,
        "doel": doel,
        "actie": actie,
        "uitkomst": uitkomst,
        "spoor": spoor,
        "organisatie": organisatie,
        "medewerker": medewerker,
        "van": van,
        "tot": tot,
    }
    return _log_page(request, session, user, exchanges, filters, page=pagina)


@router.post("/logboek/kind")
def search_by_bsn(
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
    key: PseudonymKeyDep,
    form: CheckedForm,
) -> Response:
    """A child's entries found by BSN. The BSN travels in a form body, never in a URL, and is
    not kept: the page that follows names the child by the log's own reference."""
    try:
        child = pseudonym(validate_bsn(str(form.get("bsn", ""))), key)
    except InvalidBSNError:
        error = "Dat is geen geldig BSN: het moet uit 9 cijfers bestaan en de elfproef halen."
        return _log_page(request, session, user, exchanges, {}, bsn_error=error, status_code=422)
    ref = store.find_child_reference(session, child)
    if ref is None:  # the log never named this child; the (empty) search is still recorded
        notice = "Het logboek noemt geen kind met dit BSN."
        return _log_page(request, session, user, exchanges, {}, notice=notice, child=NO_SUCH_CHILD)
    return RedirectResponse(f"/portaal/fg/logboek?kind={ref}", status_code=303)


def _log_page(
    request: Request,
    session: Session,
    user: Officer,
    exchanges: Exchanges,
    filters: dict[str, str | None],
    *,
    page: int = 1,
    notice: str | None = None,
    bsn_error: str | None = None,
    child: str | None = None,
    status_code: int = 200,
) -> Response:
    """One page of the log search; ``child`` overrides the reference in ``filters``. A form
    that could not be read (``bsn_error``) searches nothing, so no read is recorded."""
    shown = {name: filters.get(name) or "" for name in LOG_FILTERS}
    organisation = shown["organisatie"].strip() or None
    staff = shown["medewerker"].strip() or None
    # A staff id is its organisation's own: without one named, the officer's own organisation.
    acting_for = (organisation or user.organisation_id, staff) if staff else None
    where = EntryFilter(
        visible_to=user.scope,
        child_ref=child or shown["kind"] or None,
        purpose=shown["doel"] or None,
        action=shown["actie"] or None,
        outcome=shown["uitkomst"] or None,
        trace_id=shown["spoor"].strip().lower() or None,
        involving=organisation,
        acting_for=acting_for,
        since=_day(shown["van"]),
        until=_day(shown["tot"], end=True),
    )
    page = max(page, 1)
    found = None
    if bsn_error is None:
        offset = (page - 1) * PAGE_SIZE
        found = read_entries(session, user.actor, where, offset=offset, limit=PAGE_SIZE)
    total = 0 if found is None else found.total
    return render(
        request,
        "officer_log.html",
        {
            "searched": found is not None,
            "entries": [] if found is None else [item["entry"] for item in found.items],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": shown,
            "notice": notice,
            "bsn_error": bsn_error,
            "purposes": sorted(exchanges.decider.bundle.data["purposes"]),
        },
        status_code=status_code,
    )


@router.get("/break-glass")
def queue(request: Request, session: SessionDep, user: CurrentOfficer) -> Response:
    waiting = oversight.break_glass_queue(session, user)
    done = oversight.reviews(session, user)
    ids = [i for e in waiting for i in (e.source_id, e.recipient_id)]
    return render(
        request,
        "officer_break_glass.html",
        {
            "waiting": waiting,
            "done": done,
            "names": organisation_names(session, ids),
            "now": datetime.now(UTC),
        },
    )


@router.post("/break-glass/{exchange_id}")
def review(
    exchange_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    form: CheckedForm,
) -> Response:
    oversight.review_break_glass(session, user, exchange_id, str(form.get("note", "")))
    return RedirectResponse("/portaal/fg/break-glass", status_code=303)


@router.get("/geweigerd")
def refused(request: Request, session: SessionDep, user: CurrentOfficer) -> Response:
    rows = oversight.denied(session, user)
    ids = [i for e in rows for i in (e.source_id, e.recipient_id)]
    return render(
        request,
        "officer_denied.html",
        {"rows": rows, "names": organisation_names(session, ids)},
    )


@router.get("/uitwisselingen/{exchange_id}/beslissingen")
def decisions_page(
    exchange_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
) -> Response:
    """Every kept decision of one exchange, its input and answer in plain Dutch."""
    exchange = oversight.visible_exchange(session, user, exchange_id)
    rows = oversight.kept_decisions(session, user, exchange)
    return _decisions_view(request, session, exchanges, exchange, rows, None)


@router.post("/uitwisselingen/{exchange_id}/beslissingen")
def replay_page(
    exchange_id: str,
    request: Request,
    session: SessionDep,
    user: CurrentOfficer,
    exchanges: ExchangesDep,
    _: CheckedForm,
) -> Response:
    """ "Beslissing opnieuw uitrekenen": each decision again, under the bundle of its day."""
    exchange = oversight.visible_exchange(session, user, exchange_id)
    replayed = oversight.replay_decisions(session, user, exchange)
    rows = [r.record for r in replayed]
    return _decisions_view(request, session, exchanges, exchange, rows, replayed)


def _decisions_view(
    request: Request,
    session: Session,
    exchanges: Exchanges,
    exchange: Exchange,
    rows: list[DecisionRecord],
    replayed: list[Replayed] | None,
) -> Response:
    bundle = exchanges.decider.bundle
    spec = bundle.purpose(exchange.purpose) or {}
    return render(
        request,
        "officer_decisions.html",
        {
            "exchange": exchange,
            "purpose_title": spec.get("title", exchange.purpose),
            "status": EXCHANGE_STATUS.get(exchange.status.value, exchange.status.value),
            "names": organisation_names(session, [exchange.source_id, exchange.recipient_id]),
            "decisions": describe(session, bundle, rows),
            "replayed": replayed,
            "different": sum(not r.identical for r in replayed or ()),
        },
    )


@router.get("/grafiek.svg")
def chart(
    request: Request, session: SessionDep, user: CurrentOfficer, exchanges: ExchangesDep
) -> Response:
    counts = oversight.weekly_counts(session, user, exchanges.clock().date())
    body = render(request, "chart.svg", {"c": counts}).body
    return Response(body, media_type="image/svg+xml")


@router.get("/export")
def export(
    session: SessionDep,
    user: CurrentOfficer,
    signer: AuditSignerDep,
    witnesses: AuditWitnessesDep,
    exchanges: ExchangesDep,
) -> Response:
    """A zip in the offline verifier's format (:mod:`gateway.auditing.exports`). For the
    gateway's officer it is the whole log, which ``python -m audit verify`` rebuilds end to
    end; an organisation's entries come each with an inclusion proof in one (cosigned)
    checkpoint, which the same command checks entry by entry."""
    if user.sees_all:
        checkpoint(session, signer)
    found = read_entries(
        session, user.actor, EntryFilter(visible_to=user.scope), offset=0, limit=EXPORT_LIMIT
    )
    make = exports.whole_log if user.sees_all else exports.selection
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in make(session, signer, witnesses, found.items).items():
            archive.writestr(name, text)
    stamp = exchanges.clock().date().isoformat()
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="logboek-{stamp}.zip"'},
    )


def _statistics(session: Session, exchanges: Exchanges, schooljaar: str | None) -> Statistics:
    """The chosen school year's statistics; anything that is not a school year shows the
    current one (a page answers a typo with the present, not an error)."""
    if schooljaar and re.fullmatch(SCHOOL_YEAR, schooljaar):
        with suppress(ValidationFailedError):
            return of_school_year(session, exchanges, schooljaar)
    return of_school_year(session, exchanges, None)


def _statistics_view(found: Statistics, regio: str) -> dict[str, Any]:
    """What the page and the chart show: one region (all when it is not a known one)."""
    if regio not in {ALL, *(r.code for r in found.regions)}:
        regio = ALL
    return {"s": found, "regio": regio, "months": months_of(int(found.school_year[:4]))}


@router.get("/statistiek")
def statistics_page(
    request: Request,
    session: SessionDep,
    _: CurrentOfficer,
    exchanges: ExchangesDep,
    schooljaar: str | None = None,
    regio: str = ALL,
) -> Response:
    """Counts for policy makers: no person in them, small cells suppressed."""
    found = _statistics(session, exchanges, schooljaar)
    return render(request, "officer_statistics.html", _statistics_view(found, regio))


@router.get("/statistiek.csv")
def statistics_csv(
    session: SessionDep, _: CurrentOfficer, exchanges: ExchangesDep, schooljaar: str | None = None
) -> Response:
    found = _statistics(session, exchanges, schooljaar)
    return Response(
        found.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="statistiek-{found.school_year}.csv"'
        },
    )


@router.get("/statistiek.svg")
def statistics_chart(
    request: Request,
    session: SessionDep,
    _: CurrentOfficer,
    exchanges: ExchangesDep,
    schooljaar: str | None = None,
    regio: str = ALL,
) -> Response:
    found = _statistics(session, exchanges, schooljaar)
    body = render(request, "statistics.svg", _statistics_view(found, regio)).body
    return Response(body, media_type="image/svg+xml")
