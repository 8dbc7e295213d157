"""Every Rego unit test in policies/ runs here, so a failing Rego test fails CI."""

from __future__ import annotations

import re

import pytest

from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.policy.engines import RegorusEngine

_BUNDLE = PolicyBundle.load(default_policy_dir())
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.M)
_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.M)


def rego_tests(bundle: PolicyBundle) -> list[tuple[str, str]]:
    found = []
    for path, source in sorted(bundle.tests.items()):
        package = _PACKAGE.search(source)
        assert package, f"{path} has no package line"
        found += [(path, f"data.{package.group(1)}.{name}") for name in _TEST_RULE.findall(source)]
    return found


_TESTS = rego_tests(_BUNDLE)


@pytest.fixture(scope="module")
def engine_with_tests() -> RegorusEngine:
    return RegorusEngine(_BUNDLE, include_tests=True)


@pytest.mark.parametrize(
    ("path", "rule"), _TESTS, ids=[rule.rsplit(".", 1)[1] for _, rule in _TESTS]
)
def test_rego(engine_with_tests: RegorusEngine, path: str, rule: str) -> None:
    assert engine_with_tests.eval_rule(rule) is True, f"{rule} ({path}) did not pass"


def test_the_suite_covers_every_rule_of_the_brief() -> None:
    names = " ".join(rule for _, rule in _TESTS)
    for topic in [
        "purpose",
        "stripped",
        "level",
        "placement",
        "rood",
        "restricted",
        "consent",
        "12",
        "16",
        "revoked",
        "expired",
        "legal_duty",
        "break_glass",
        "retention",
        "reason",
        "unknown_purpose",
    ]:
        assert topic in names, f"no Rego test mentions {topic}"
    assert len(_TESTS) >= 40


def test_a_failing_rego_test_is_reported_as_failing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The runner can fail: a test rule that does not hold evaluates to undefined, not True."""
    (tmp_path / "p.rego").write_text(
        "package p\nimport rego.v1\nallow if input.ok\n", encoding="utf-8"
    )
    (tmp_path / "p_test.rego").write_text(
        "package p_test\nimport rego.v1\nimport data.p\n"
        'test_holds if p.allow with input as {"ok": true}\n'
        'test_fails if p.allow with input as {"ok": false}\n',
        encoding="utf-8",
    )
    bundle = PolicyBundle.load(tmp_path)
    engine = RegorusEngine(bundle, include_tests=True)
    rules = dict((r.rsplit(".", 1)[1], r) for _, r in rego_tests(bundle))

    assert engine.eval_rule(rules["test_holds"]) is True
    assert engine.eval_rule(rules["test_fails"]) is not True
