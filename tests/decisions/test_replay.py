"""``gateway decisions replay``: every kept decision re-evaluated under the bundle of its day.
A record that no longer matches its audit entry, or an answer that comes out differently, is
named and fails the run. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.cli import app
from gateway.decisions.models import DecisionRecord, PolicyBundleRecord
from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.policy.engines import RegorusEngine
from gateway.policy.service import PolicyDecider
from gateway.settings import Settings
from tests.exchanges.world import WARM_FIELDS, YOUNG, World

runner = CliRunner()
BOTH_PARENTS = ({"relation": "moeder", "gezag": True}, {"relation": "vader", "gezag": True})


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
    }


def replay(env: dict[str, str], *arguments: str) -> tuple[int, str]:
    result = runner.invoke(app, ["decisions", "replay", *arguments], env=env)
    return result.exit_code, result.output


def test_after_the_demo_every_decision_replays_identically(
    env: dict[str, str], world: World
) -> None:
    demo = runner.invoke(app, ["demo"], env=env)
    assert demo.exit_code == 0, demo.output

    code, output = replay(env, "--all")

    assert code == 0, output
    kept = len(world.session.scalars(select(DecisionRecord)).all())
    assert kept > 20
    assert output.count("IDENTICAL") == kept
    assert output.rstrip().endswith(f"{kept} identical, 0 different")


def test_old_decisions_replay_under_their_own_bundle_after_the_policies_change(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    before = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    edited = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), edited)
    register = edited / "purposes" / "data.json"
    register.write_text(
        register.read_text().replace('"retention_days": 60', '"retention_days": 45', 1)
    )
    bundle = PolicyBundle.load(edited)
    world.exchanges.decider = PolicyDecider(bundle, RegorusEngine(bundle))

    after = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)

    assert after["decision"]["policy_version"] == bundle.version
    assert before["decision"]["policy_version"] != bundle.version
    assert after["decision"]["retention_days"] == 45
    versions = set(world.session.scalars(select(PolicyBundleRecord.version)))
    assert versions == {before["decision"]["policy_version"], bundle.version}
    code, output = replay(env, "--all")
    assert code == 0, output
    assert output.rstrip().endswith("3 identical, 0 different")  # guardians and both creates
    one_code, one = replay(env, "--exchange", before["id"])
    assert one_code == 0 and one.count("IDENTICAL") == 1 and before["id"] in one


def test_an_edited_input_fails_on_its_hash_naming_the_decision(
    env: dict[str, str], world: World
) -> None:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    row = world.session.scalars(
        select(DecisionRecord).where(DecisionRecord.exchange_id == offer["id"])
    ).one()
    forged = {**row.input, "subject": {**row.input["subject"], "age": 17}}
    world.session.execute(
        update(DecisionRecord).where(DecisionRecord.id == row.id).values(input=forged)
    )
    world.session.commit()

    code, output = replay(env, "--all")

    assert code == 1
    assert f"DIFFERENT  audit #{row.audit_index}  decision  exchange {offer['id']}" in output
    assert f"fault: the stored input does not match audit entry {row.audit_index}" in output
    assert "1 identical, 1 different" in output  # the guardians change still is


def test_an_edited_answer_is_caught_and_the_difference_shown(
    env: dict[str, str], world: World
) -> None:
    world.guardians(world.kinderopvang, YOUNG, *BOTH_PARENTS)
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    row = world.session.scalars(
        select(DecisionRecord).where(DecisionRecord.exchange_id == offer["id"])
    ).one()
    assert row.answer["allow"] is False
    world.session.execute(
        update(DecisionRecord)
        .where(DecisionRecord.id == row.id)
        .values(answer={**row.answer, "allow": True})
    )
    world.session.commit()

    code, output = replay(env, "--exchange", offer["id"])

    assert code == 1
    assert f"fault: the stored answer does not match audit entry {row.audit_index}" in output
    assert "    allow: recorded true, now false" in output


def test_an_edited_bundle_is_caught(env: dict[str, str], world: World) -> None:
    world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    stored = world.session.scalars(select(PolicyBundleRecord)).one()
    files = dict(stored.files)
    rego = "kindkoppeling/decision.rego"
    files[rego] = files[rego].replace("min_justification := 20", "min_justification := 2")
    world.session.execute(
        update(PolicyBundleRecord)
        .where(PolicyBundleRecord.version == stored.version)
        .values(files=files)
    )
    world.session.commit()

    code, output = replay(env, "--all")

    assert code == 1
    assert f"fault: the kept bundle {stored.version} was changed" in output


def test_replay_since_a_date_and_the_choice_is_required(env: dict[str, str], world: World) -> None:
    world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)

    assert replay(env, "--since", "2000-01-01")[1].rstrip().endswith("1 identical, 0 different")
    assert replay(env, "--since", "2999-01-01")[1].rstrip().endswith("0 identical, 0 different")
    assert replay(env)[0] == 2
    assert replay(env, "--all", "--exchange", "x")[0] == 2
