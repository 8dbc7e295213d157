"""Privacy officers: scope, the break-glass review queue, denied requests, integrity, the chart
and the export (verified offline)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from audit import store
from audit.__main__ import main as audit_main
from gateway.dutch_time import working_days_after
from gateway.exchanges.models import Exchange
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import TEEN, YOUNG, Party, World
from tests.factories import access_token, bearer
from tests.portal.family import as_officer, break_glass
from tests.portal.live import LiveGateway, csrf_of

STAFF = "/api/v1/organisations/me/staff"


@pytest.fixture
def gateway_officer(live: LiveGateway, world: World) -> httpx.Client:
    world.add("operator", OrganisationRole.GATEWAY)
    return as_officer(live, world, "fg-gateway", world.operator.id)


def test_an_officer_reviews_a_break_glass_exchange_and_the_review_is_audited(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    exchange_id = break_glass(world)
    queue = gateway_officer.get("/portaal/fg/break-glass")
    assert "acuut risico" in queue.text

    reviewed = gateway_officer.post(
        f"/portaal/fg/break-glass/{exchange_id}",
        data={"csrf_token": csrf_of(queue.text), "note": "Terecht: veiligheid ging voor."},
    )

    assert reviewed.status_code == 200
    assert "Er wacht niets op beoordeling" in reviewed.text
    assert "review_break_glass" not in reviewed.text
    assert "break_glass.review" in world.audit_actions(exchange_id)
    again = gateway_officer.post(
        f"/portaal/fg/break-glass/{exchange_id}",
        data={"csrf_token": csrf_of(queue.text), "note": "Nog eens."},
    )
    assert again.status_code == 409


def test_a_break_glass_review_is_due_in_working_days_and_shown_when_overdue(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    late_id, fresh_id = break_glass(world), break_glass(world)
    world.session.expire_all()
    late, fresh = (world.session.get_one(Exchange, i) for i in (late_id, fresh_id))
    assert fresh.break_glass_review_due == working_days_after(fresh.created_at, 5)
    late.break_glass_review_due = datetime.now(UTC) - timedelta(hours=1)  # as if a week passed
    world.session.commit()

    queue = gateway_officer.get("/portaal/fg/break-glass").text
    home = gateway_officer.get("/portaal/fg").text
    metrics = world.client.get("/metrics").text

    cards = re.findall(r'<section class="card[^"]*" aria-labelledby="bg-([^"]+)">', queue)
    assert cards == [late_id, fresh_id]  # the first due first
    assert f'class="card overdue" aria-labelledby="bg-{late_id}"' in queue
    assert queue.count("Te laat:") == 1
    assert "2 break-glass-uitwisselingen wachten op beoordeling" in home
    assert "waarvan 1 te laat" in home
    assert "kindkoppeling_break_glass_reviews_overdue 1.0" in metrics


def test_an_organisations_officer_sees_only_its_own_records(
    live: LiveGateway, world: World
) -> None:
    exchange_id = break_glass(world)  # shelter -> school
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    officer = as_officer(live, world, "fg-regenboog", world.other_school.id)

    queue = officer.get("/portaal/fg/break-glass")
    log = officer.get("/portaal/fg/logboek")

    assert "acuut risico" not in queue.text
    assert "<td>plaatsing-opvang</td>" not in log.text
    assert "<td>tlv-aanvraag</td>" in log.text
    forged = officer.post(
        f"/portaal/fg/break-glass/{exchange_id}",
        data={"csrf_token": csrf_of(queue.text), "note": "niet van mij"},
    )
    assert forged.status_code == 404


def test_the_log_search_filters_and_is_itself_recorded(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    break_glass(world)
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    found = gateway_officer.get("/portaal/fg/logboek", params={"doel": "plaatsing-opvang"})
    rows = re.findall(r"<tr><td>\d+</td>", found.text)

    assert rows
    assert "<td>plaatsing-opvang</td>" in found.text
    assert "<td>tlv-aanvraag</td>" not in found.text
    world.session.expire_all()
    actions = [json.loads(leaf)["action"] for _, leaf, _ in store.iter_leaves(world.session)]
    assert "audit.read" in actions


def read_entries_of(world: World) -> list[bytes]:
    world.session.expire_all()
    return [leaf for _, leaf, _ in store.iter_leaves(world.session)]


def test_an_officer_finds_a_child_by_bsn_without_the_bsn_in_a_url(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    break_glass(world)  # about YOUNG
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"], child=TEEN)
    form = gateway_officer.get("/portaal/fg/logboek")

    found = gateway_officer.post(
        "/portaal/fg/logboek/kind", data={"csrf_token": csrf_of(form.text), "bsn": TEEN["bsn"]}
    )

    assert [r.status_code for r in found.history] == [303]
    assert found.status_code == 200
    assert TEEN["bsn"] not in str(found.url) and TEEN["bsn"] not in found.text
    assert "<td>tlv-aanvraag</td>" in found.text
    assert "<td>plaatsing-opvang</td>" not in found.text
    leaves = read_entries_of(world)
    read = json.loads(leaves[-1])
    assert read["action"] == "audit.read"
    assert found.url.params["kind"] == read["child_ref"]
    assert not any(TEEN["bsn"].encode() in leaf for leaf in leaves)


def test_a_bsn_search_explains_a_bad_bsn_and_a_child_the_log_never_named(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    break_glass(world)
    token = csrf_of(gateway_officer.get("/portaal/fg/logboek").text)
    reads_before = read_entries_of(world)

    bad = gateway_officer.post(
        "/portaal/fg/logboek/kind", data={"csrf_token": token, "bsn": "123456789"}
    )
    assert read_entries_of(world) == reads_before
    never = gateway_officer.post(
        "/portaal/fg/logboek/kind", data={"csrf_token": token, "bsn": "999999990"}
    )
    forged = gateway_officer.post("/portaal/fg/logboek/kind", data={"bsn": YOUNG["bsn"]})

    assert bad.status_code == 422
    assert "elfproef" in bad.text and 'aria-invalid="true"' in bad.text
    assert "123456789" not in bad.text
    assert "gevonden" not in bad.text  # nothing was searched, so no read of the log either
    assert never.status_code == 200
    assert "Het logboek noemt geen kind met dit BSN" in never.text
    assert "0 vermeldingen gevonden" in never.text
    read = json.loads(read_entries_of(world)[-1])
    assert read["action"] == "audit.read" and read["child_ref"] is None
    assert forged.status_code == 403


def test_the_dashboard_shows_integrity_and_the_chart_counts_exchanges(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    break_glass(world)
    world.create(world.kinderopvang, world.school, "warme-overdracht", ["home_language"])

    dashboard = gateway_officer.get("/portaal/fg")
    chart = gateway_officer.get("/portaal/fg/grafiek.svg")

    assert "In orde" in dashboard.text
    assert chart.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(chart.content)  # noqa: S314 - our own response
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "plaatsing-opvang: 1" in titles and "warme-overdracht: 1" in titles


def test_the_gateway_officers_export_verifies_offline(
    live: LiveGateway, world: World, gateway_officer: httpx.Client, tmp_path: Path
) -> None:
    break_glass(world)

    export = gateway_officer.get("/portaal/fg/export")

    assert export.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(export.content)).extractall(tmp_path / "export")
    assert audit_main(["verify", str(tmp_path / "export")]) == 0


def test_denied_requests_are_listed(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    world.create(world.school, world.kinderopvang, "verzuimmelding", ["signal_type"])

    denied = gateway_officer.get("/portaal/fg/geweigerd")

    assert "verzuimmelding" in denied.text


def test_the_officer_sees_statistics_with_a_chart_and_downloads_them_as_csv(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    from tests.signals.conftest import UTRECHT, VECHT, children, report

    world.add("utrecht", OrganisationRole.LEERPLICHT, identifier=UTRECHT)
    world.add("vecht", OrganisationRole.LEERPLICHT, identifier=VECHT)
    world.add("region", OrganisationRole.SWV, identifier="PO2797", region=[UTRECHT])
    today = world.exchanges.clock().date()
    month = today.strftime("%Y-%m")
    since = str(today - timedelta(days=35))
    for i, child in enumerate(children(8, start=500_000_000)):
        gemeente = UTRECHT if i < 6 else VECHT  # 6 in the region, 2 outside any
        assert report(world, world.school, child, gemeente=gemeente, absent_since=since).is_success

    page = gateway_officer.get("/portaal/fg/statistiek", params={"regio": "PO2797"})
    download = gateway_officer.get("/portaal/fg/statistiek.csv")
    chart = gateway_officer.get("/portaal/fg/statistiek.svg", params={"regio": "all"})

    assert page.status_code == 200 and "Statistiek schooljaar" in page.text
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = {
        (r["table"], r["category"], r["region"], r["period"]): r
        for r in csv.DictReader(io.StringIO(download.text))
    }
    assert rows[("signals", "thuiszitter", "all", month)]["count"] == "8"
    hidden = rows[("signals", "thuiszitter", "PO-unassigned", month)]
    assert (hidden["count"], hidden["suppressed"]) == ("", "1")  # 2 children: never shown
    assert rows[("signals", "thuiszitter", "PO2797", month)]["suppressed"] == "1"  # its cover
    assert chart.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(chart.content)  # noqa: S314 - our own response
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "Thuiszitter: 8" in titles
    assert not any(t == "Thuiszitter: 2" or t == "Thuiszitter: 6" for t in titles)
    with httpx.Client(base_url=live.url) as outsider:
        refused = outsider.get("/portaal/fg/statistiek.csv", follow_redirects=False)
    assert refused.status_code in (303, 401) and "thuiszitter" not in refused.text
    assert "Dit schooljaar loopt nog" in page.text


def test_the_officer_sees_that_a_closed_school_years_figures_are_final(
    world: World, gateway_officer: httpx.Client
) -> None:
    from gateway.statistics.service import close_ended_years, school_year_of
    from tests.signals.conftest import at

    start = school_year_of(world.exchanges.clock().date())
    world.create(world.school, world.leerplicht, "verzuimmelding", ["signal_type"])
    at(world, date(start + 1, 8, 1))
    assert close_ended_years(world.session, world.exchanges) == [f"{start}-{start + 1}"]
    world.session.commit()

    page = gateway_officer.get(
        "/portaal/fg/statistiek", params={"schooljaar": f"{start}-{start + 1}"}
    )

    assert page.status_code == 200
    assert f"afgesloten op 1 augustus {start + 1}" in page.text and "loopt nog" not in page.text


def test_an_officers_pages_share_the_rate_limit_of_their_audit_api_reads(
    live: LiveGateway, gateway_officer: httpx.Client
) -> None:
    from tests.security.test_rate_limits import strict_limits

    strict_limits(live.app, api="3/minute")

    pages = [gateway_officer.get(path) for path in ("/portaal/fg/logboek", "/portaal/fg/export")]
    api = gateway_officer.get("/api/v1/audit/entries")
    refused = gateway_officer.get("/portaal/fg/export")

    assert [p.status_code for p in pages] == [200, 200] and api.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert "Even rustig aan" in refused.text
    assert gateway_officer.get("/api/v1/audit/entries").status_code == 429


def test_an_officer_finds_the_entries_of_one_trace(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    trace = "0af7651916cd43dd8448eb211c80319c"
    traced = world.create(
        world.other_school,
        world.swv,
        "tlv-aanvraag",
        ["onderwijsbehoeften"],
        headers={"traceparent": f"00-{trace}-b7ad6b7169203331-01"},
    )
    world.create(world.school, world.kinderopvang, "verzuimmelding", ["signal_type"])

    found = gateway_officer.get("/portaal/fg/logboek", params={"spoor": trace.upper()})

    assert "1 vermelding gevonden" in found.text
    assert traced["id"] in found.text


def test_an_officer_finds_the_calls_made_on_behalf_of_one_staff_member(
    live: LiveGateway, world: World, gateway_officer: httpx.Client
) -> None:
    own = bearer(access_token(world.client, world.other_school.registered, own=True))
    staff = {"staff_id": "zc-0003", "display_name": "A. Jansen", "role": "zorgcoördinator"}
    assert world.client.post(STAFF, json=staff, headers=own).status_code == 201
    issued = world.client.post(
        "/oauth/token", data=world.other_school.registered.staff_form("zc-0003")
    )
    as_coordinator = Party(
        world.other_school.id,
        bearer(issued.json()["access_token"]),
        world.other_school.registered,
    )
    theirs = world.create(as_coordinator, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])

    found = gateway_officer.get(
        "/portaal/fg/logboek",
        params={"organisatie": world.other_school.id, "medewerker": "zc-0003"},
    )

    assert "1 vermelding gevonden" in found.text
    assert theirs["id"] in found.text
    assert "zc-0003 (zorgcoördinator)" in found.text
