"""Both engines give the same decisions, and either failing denies with 503, never allows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.policy.decision import Basis, Level
from gateway.policy.engines import OpaEngine, RegorusEngine
from gateway.policy.service import PolicyDecider, PolicyUnavailableError
from tests.policy.cases import CASES
from tests.policy.opa_test_server import OpaState, free_port


@pytest.mark.parametrize("case", list(CASES))
def test_both_engines_decide_identically(
    case: str, bundle: PolicyBundle, regorus_engine: RegorusEngine, opa_engine: OpaEngine
) -> None:
    in_process = PolicyDecider(bundle, regorus_engine).decide(CASES[case])
    over_rest = PolicyDecider(bundle, opa_engine).decide(CASES[case])

    assert in_process == over_rest


def test_the_cases_cover_allow_deny_and_waiting(
    bundle: PolicyBundle, regorus_engine: RegorusEngine
) -> None:
    decider = PolicyDecider(bundle, regorus_engine)
    decisions = {name: decider.decide(case) for name, case in CASES.items()}

    assert decisions["consented warme overdracht"].allow
    assert decisions["extra fields stripped"].stripped == {
        "bsn": "not part of this purpose",
        "diagnosis": "not part of this purpose",
    }
    assert decisions["awaiting the father"].awaiting_consent
    assert not decisions["revoked consent"].allow
    assert decisions["legal duty informs"].basis == Basis.LEGAL_DUTY
    assert decisions["placement before an offer"].level == Level.SUMMARY
    assert decisions["rood placement to leerplicht"].fields == ["safe_place_notice"]
    assert not decisions["exemption reason refused"].allow
    assert decisions["break-glass"].basis == Basis.BREAK_GLASS
    assert all(d.policy_version == bundle.version for d in decisions.values())


def test_opa_server_down_fails_closed(bundle: PolicyBundle) -> None:
    engine = OpaEngine(f"http://127.0.0.1:{free_port()}", timeout=0.5)

    with pytest.raises(PolicyUnavailableError):
        PolicyDecider(bundle, engine).decide(CASES["consented warme overdracht"])


@pytest.mark.parametrize(
    ("delay_seconds", "fail_with_status"), [(1.0, None), (0.0, 500)], ids=["slow", "error"]
)
def test_unhealthy_opa_server_fails_closed(
    bundle: PolicyBundle,
    opa_server: tuple[str, OpaState],
    delay_seconds: float,
    fail_with_status: int | None,
) -> None:
    url, state = opa_server
    state.delay_seconds = delay_seconds
    state.fail_with_status = fail_with_status
    engine = OpaEngine(url, timeout=0.2)

    with pytest.raises(PolicyUnavailableError):
        PolicyDecider(bundle, engine).decide(CASES["consented warme overdracht"])


def test_opa_server_without_the_policy_fails_closed(bundle: PolicyBundle) -> None:
    from tests.policy.opa_test_server import running_opa_server

    with running_opa_server() as (url, _):  # nothing loaded: OPA answers {} (undefined)
        engine = OpaEngine(url, timeout=1.0)
        with pytest.raises(PolicyUnavailableError):
            PolicyDecider(bundle, engine).decide(CASES["consented warme overdracht"])


def test_policy_that_errors_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "broken.rego").write_text(
        "package kindkoppeling.decision\nimport rego.v1\n"
        'decision := {"allow": true} if input.purpose\n'
        'decision := {"allow": false} if input.purpose\n',  # conflicting values: eval error
        encoding="utf-8",
    )
    bundle = PolicyBundle.load(tmp_path)

    with pytest.raises(PolicyUnavailableError):
        PolicyDecider(bundle, RegorusEngine(bundle)).decide(CASES["consented warme overdracht"])


def test_malformed_answer_is_never_an_allow(tmp_path: Path) -> None:
    (tmp_path / "lenient.rego").write_text(
        'package kindkoppeling.decision\nimport rego.v1\ndecision := {"allow": true}\n',
        encoding="utf-8",
    )
    bundle = PolicyBundle.load(tmp_path)

    with pytest.raises(PolicyUnavailableError):
        PolicyDecider(bundle, RegorusEngine(bundle)).decide(CASES["consented warme overdracht"])


class TestPolicyVersion:
    def test_same_bundle_same_version(self, bundle: PolicyBundle) -> None:
        assert PolicyBundle.load(default_policy_dir()).version == bundle.version
        assert bundle.version.startswith("sha256:") and len(bundle.version) == 71

    def test_changing_a_policy_file_changes_the_version(
        self, bundle: PolicyBundle, tmp_path: Path
    ) -> None:
        copy = tmp_path / "policies"
        shutil.copytree(default_policy_dir(), copy)
        assert PolicyBundle.load(copy).version == bundle.version

        rego = copy / "kindkoppeling" / "decision.rego"
        rego.write_text(rego.read_text() + "\n# a comment is a change too\n")

        assert PolicyBundle.load(copy).version != bundle.version

    def test_changing_the_register_changes_the_version(
        self, bundle: PolicyBundle, tmp_path: Path
    ) -> None:
        copy = tmp_path / "policies"
        shutil.copytree(default_policy_dir(), copy)
        register = copy / "purposes" / "data.json"
        register.write_text(
            register.read_text().replace('"retention_days": 60', '"retention_days": 61', 1)
        )

        assert PolicyBundle.load(copy).version != bundle.version

    def test_tests_are_not_part_of_the_version(self, bundle: PolicyBundle, tmp_path: Path) -> None:
        copy = tmp_path / "policies"
        shutil.copytree(default_policy_dir(), copy)
        (copy / "extra_test.rego").write_text("package extra_test\n")

        assert PolicyBundle.load(copy).version == bundle.version


def test_readiness_follows_the_opa_server(opa_server: tuple[str, OpaState]) -> None:
    up = OpaEngine(opa_server[0], timeout=1.0)
    down = OpaEngine(f"http://127.0.0.1:{free_port()}", timeout=0.5)  # nothing listens

    assert up.ready()
    assert not down.ready()
