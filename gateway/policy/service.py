"""The one decision interface the rest of the gateway uses.

``PolicyDecider.decide`` turns a :class:`DecisionInput` into a :class:`Decision`, stamped with
the bundle's version; ``rule`` and the change methods return a :class:`Ruling`, the answer with
the exact input it was given, for decisions the gateway records and acts on. Any engine
failure, or an answer that is not a decision document, raises :class:`PolicyUnavailableError`
(503): the gateway fails closed and never treats silence as an allow.
"""

from __future__ import annotations

from typing import Any, TypeVar

import structlog
from pydantic import BaseModel

from gateway.errors import ServiceUnavailableError
from gateway.metrics import counters as metrics
from gateway.policy.bundle import PolicyBundle
from gateway.policy.decision import (
    Decision,
    DecisionInput,
    GuardiansChange,
    MalformedDecisionError,
    Permission,
    Ruling,
    SafetyChange,
    parse_answer,
)
from gateway.policy.engines import (
    DECISION_PACKAGE,
    GUARDIANS_PACKAGE,
    SAFETY_PACKAGE,
    OpaEngine,
    PolicyEngine,
    PolicyEngineError,
    RegorusEngine,
)
from gateway.settings import Settings

log = structlog.get_logger(__name__)
_Answer = TypeVar("_Answer", bound=BaseModel)


class PolicyUnavailableError(ServiceUnavailableError):
    def __init__(self) -> None:
        super().__init__(
            "The policy engine could not decide; nothing was allowed. Try again shortly.",
            headers={"Retry-After": "5"},
            check="policy",
        )


class PolicyDecider:
    def __init__(self, bundle: PolicyBundle, engine: PolicyEngine) -> None:
        self.bundle = bundle
        self.engine = engine

    @property
    def policy_version(self) -> str:
        return self.bundle.version

    def decide(self, request: DecisionInput) -> Decision:
        return self.rule(request).answer

    def rule(self, request: DecisionInput) -> Ruling[Decision]:
        document = request.document()
        decision = self._ask(DECISION_PACKAGE, document, Decision)
        known = self.bundle.purpose(decision.purpose) is not None
        metrics.count_decision(decision.purpose if known else "unknown", decision.outcome)
        log.info(
            "policy_decision",
            purpose=decision.purpose,
            allow=decision.allow,
            basis=decision.basis,
            disclosure_level=decision.level,
            policy_version=decision.policy_version,
        )
        return Ruling(DECISION_PACKAGE, document, decision)

    def decide_safety_change(self, change: SafetyChange) -> Ruling[Permission]:
        document = change.model_dump(mode="json")
        return Ruling(SAFETY_PACKAGE, document, self._ask(SAFETY_PACKAGE, document, Permission))

    def decide_guardians_change(self, change: GuardiansChange) -> Ruling[Permission]:
        document = change.model_dump(mode="json")
        return Ruling(
            GUARDIANS_PACKAGE, document, self._ask(GUARDIANS_PACKAGE, document, Permission)
        )

    def _ask(self, package: str, document: dict[str, Any], model: type[_Answer]) -> _Answer:
        try:
            return parse_answer(model, self.engine.evaluate(document, package), self.bundle.version)
        except (PolicyEngineError, MalformedDecisionError) as exc:
            log.error("policy_unavailable", engine=self.engine.name, error=str(exc))
            raise PolicyUnavailableError() from exc


def make_decider(settings: Settings) -> PolicyDecider:
    bundle = PolicyBundle.load(settings.policy_dir)
    engine: PolicyEngine
    if settings.opa_url:
        engine = OpaEngine(settings.opa_url, timeout=settings.opa_timeout)
    else:
        engine = RegorusEngine(bundle)
    return PolicyDecider(bundle, engine)
