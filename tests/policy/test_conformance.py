"""regorus (the in-process engine) and OPA's own Go evaluator decide identically: every shared
case, at least 2,000 generated inputs, and every safety-code and guardians change. The check
itself is shown to catch a rule changed in only one engine's copy of the bundle."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from gateway.organisations.identifiers import OrganisationRole
from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.policy.decision import (
    Decision,
    DecisionInput,
    GuardiansChange,
    Party,
    Permission,
    SafetyChange,
    SafetyCode,
    parse_answer,
)
from gateway.policy.engines import (
    DECISION_PACKAGE,
    GUARDIANS_PACKAGE,
    SAFETY_PACKAGE,
    PolicyEngine,
    RegorusEngine,
)
from tests.policy.cases import CASES
from tests.policy.opa_go import OpaGoEngine
from tests.policy.strategies import decision_inputs

GENERATED = 2000


@pytest.fixture(scope="module")
def opa_go(bundle: PolicyBundle) -> Iterator[OpaGoEngine]:
    engine = OpaGoEngine(bundle)
    yield engine
    engine.close()


def disagreements(
    bundle: PolicyBundle,
    first: PolicyEngine,
    second: PolicyEngine,
    documents: Iterable[tuple[str, dict[str, Any]]],
) -> list[str]:
    """Each (package, input) on which the two engines' checked answers differ, described."""
    models: dict[str, type[Decision] | type[Permission]] = {
        DECISION_PACKAGE: Decision,
        SAFETY_PACKAGE: Permission,
        GUARDIANS_PACKAGE: Permission,
    }
    found = []
    for package, document in documents:
        answers = [
            parse_answer(models[package], engine.evaluate(document, package), bundle.version)
            for engine in (first, second)
        ]
        if answers[0] != answers[1]:
            found.append(f"{package} on {document}: {answers[0]} != {answers[1]}")
    return found


def shared_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(DECISION_PACKAGE, case.document()) for case in CASES.values()]


def every_change() -> list[tuple[str, dict[str, Any]]]:
    """Every safety-code change and guardians change the packages can be asked about."""
    actors = [Party(organisation_id="org-1", role=role) for role in OrganisationRole]
    codes: list[SafetyCode | None] = [None, *SafetyCode]
    safety = [
        SafetyChange(actor=actor, current_code=current, set_by=set_by, new_code=new)
        for actor, current, set_by, new in itertools.product(
            actors, codes, [None, "org-1", "org-2"], list(SafetyCode)
        )
    ]
    guardians = [
        GuardiansChange(actor=actor, changes_restriction=changes)
        for actor, changes in itertools.product(actors, [False, True])
    ]
    return [(SAFETY_PACKAGE, c.model_dump(mode="json")) for c in safety] + [
        (GUARDIANS_PACKAGE, c.model_dump(mode="json")) for c in guardians
    ]


def test_every_shared_case_and_change_is_decided_identically(
    bundle: PolicyBundle, regorus_engine: RegorusEngine, opa_go: OpaGoEngine
) -> None:
    documents = shared_cases() + every_change()

    assert len(documents) > 150
    assert disagreements(bundle, regorus_engine, opa_go, documents) == []


def test_generated_inputs_are_decided_identically(
    bundle: PolicyBundle, regorus_engine: RegorusEngine, opa_go: OpaGoEngine
) -> None:
    seen: list[DecisionInput] = []
    outcomes: set[str] = set()

    @settings(max_examples=GENERATED, deadline=None, database=None)
    @given(request=decision_inputs())
    def decided_identically(request: DecisionInput) -> None:
        seen.append(request)
        documents = [(DECISION_PACKAGE, request.document())]
        assert disagreements(bundle, regorus_engine, opa_go, documents) == []
        answer = regorus_engine.evaluate(documents[0][1])
        outcomes.add(parse_answer(Decision, answer, bundle.version).outcome)

    decided_identically()

    assert len(seen) >= GENERATED
    assert {r.purpose for r in seen} == {*bundle.data["purposes"], "marketing"}
    assert {r.subject.safety_code for r in seen} == {None, *SafetyCode}
    assert {r.subject.age for r in seen} == set(range(19))
    assert any(r.break_glass for r in seen) and any(r.consents for r in seen)
    assert outcomes == {"allow", "await_consent", "deny"}


def test_one_rule_changed_in_one_copy_is_caught(
    bundle: PolicyBundle, regorus_engine: RegorusEngine, tmp_path: Path
) -> None:
    copy = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), copy)
    rego = copy / "kindkoppeling" / "decision.rego"
    source = rego.read_text()
    changed = source.replace(
        "safety_cap := 0 if rood_leerplicht", "safety_cap := 1 if rood_leerplicht"
    )
    assert changed != source
    rego.write_text(changed)
    mutant = OpaGoEngine(PolicyBundle.load(copy))
    try:
        found = disagreements(bundle, regorus_engine, mutant, shared_cases())
    finally:
        mutant.close()

    assert len(found) == 1 and "'lp-1'" in found[0]  # the rood placement to leerplicht
