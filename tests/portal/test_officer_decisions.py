"""A privacy officer reads an exchange's kept decisions in plain Dutch and replays them
("Beslissing opnieuw uitrekenen"); an edited record shows as different. Only an officer whose
organisation is a party sees them; every read and replay is on the record."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from gateway.decisions.models import DecisionRecord
from gateway.organisations.identifiers import OrganisationRole
from tests.exchanges.world import World
from tests.portal.family import as_officer, break_glass
from tests.portal.live import LiveGateway, csrf_of


@pytest.fixture
def gateway_officer(live: LiveGateway, world: World) -> httpx.Client:
    world.add("operator", OrganisationRole.GATEWAY)
    return as_officer(live, world, "fg-gateway", world.operator.id)


def test_the_officer_reads_the_decision_in_dutch_and_replays_it(
    world: World, gateway_officer: httpx.Client
) -> None:
    exchange_id = break_glass(world)
    path = f"/portaal/fg/uitwisselingen/{exchange_id}/beslissingen"

    page = gateway_officer.get(path)

    assert page.status_code == 200, page.text
    for shown in [
        "Schoolplek voor een kind in de opvang",  # the purpose's title, not its id
        "Het kind verblijft op een veilige plek",  # a field's label
        "moeder: met gezag",  # a guardian by relation, not by id
        "ja: Veilig Thuis is betrokken",
        "noodprocedure (break-glass)",
        "toegestaan",
        "nu: wacht op aanlevering",
    ]:
        assert shown in page.text, shown
    replayed = gateway_officer.post(path, data={"csrf_token": csrf_of(page.text)})
    assert replayed.status_code == 200
    assert "De beslissing komt opnieuw precies zo uit" in replayed.text
    assert world.audit_actions(exchange_id)[-2:] == ["decision.read", "decision.replay"]
    assert world.audit_entries()[-1]["outcome"] == "identical"


def test_an_edited_record_shows_as_different(world: World, gateway_officer: httpx.Client) -> None:
    exchange_id = break_glass(world)
    row = world.session.scalars(
        select(DecisionRecord).where(DecisionRecord.exchange_id == exchange_id)
    ).one()
    forged = {**row.input, "subject": {**row.input["subject"], "safety_code": "groen"}}
    world.session.execute(
        update(DecisionRecord).where(DecisionRecord.id == row.id).values(input=forged)
    )
    world.session.commit()
    path = f"/portaal/fg/uitwisselingen/{exchange_id}/beslissingen"
    page = gateway_officer.get(path)

    replayed = gateway_officer.post(path, data={"csrf_token": csrf_of(page.text)})

    assert "1 van de 1 beslissingen komen niet meer hetzelfde uit" in replayed.text
    assert f"the stored input does not match audit entry {row.audit_index}" in replayed.text
    assert world.audit_entries()[-1]["outcome"] == "different"


def test_another_organisations_officer_gets_404(live: LiveGateway, world: World) -> None:
    exchange_id = break_glass(world)  # shelter -> school
    officer = as_officer(live, world, "fg-regenboog", world.other_school.id)

    page = officer.get(f"/portaal/fg/uitwisselingen/{exchange_id}/beslissingen")

    assert page.status_code == 404
    assert "decision.read" not in world.audit_actions(exchange_id)


def test_the_log_links_to_the_decisions(world: World, gateway_officer: httpx.Client) -> None:
    exchange_id = break_glass(world)

    log = gateway_officer.get("/portaal/fg/logboek", params={"doel": "plaatsing-opvang"})

    assert f'href="/portaal/fg/uitwisselingen/{exchange_id}/beslissingen"' in log.text
