"""OPA's own Go evaluator, in-process, as a policy engine for the conformance tests.

PyPI ``opa-golib-python-bindings`` (module ``opa_bindings``): the OPA Go library built as a
c-shared library and loaded through ctypes, so the Rego is decided with OPA's semantics, not
regorus's. ``scripts/opa-go`` installs it (``scripts/test`` runs that); without it the tests
that need it fail rather than skip.
"""

from __future__ import annotations

from typing import Any

import opa_bindings

from gateway.policy.bundle import PolicyBundle
from gateway.policy.engines import DECISION_PACKAGE, DECISION_RULE, PolicyEngineError


def load(bundle_modules: dict[str, str], data: dict[str, Any]) -> opa_bindings.OpaEngine:
    """An OPA engine with these Rego modules and this data document."""
    engine = opa_bindings.OpaEngine()
    for path, source in bundle_modules.items():
        engine.add_policy(path, source)
    engine.add_data(data)
    return engine


class OpaGoEngine:
    """The gateway's engine interface over OPA's Go evaluator."""

    name = "opa-go"

    def __init__(self, bundle: PolicyBundle) -> None:
        self._engine = load(bundle.modules, bundle.data)

    def evaluate(self, document: dict[str, Any], package: str = DECISION_PACKAGE) -> Any:
        try:
            return self._engine.eval_document(f"{package}.{DECISION_RULE}", document)
        except opa_bindings.OpaError as exc:
            raise PolicyEngineError(f"OPA failed to evaluate {package}: {exc}") from exc

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        self._engine.close()
