"""The two engines that evaluate the decision policy.

``RegorusEngine`` evaluates the Rego in-process with regorus. A regorus engine may only be used,
and dropped, on the thread that created it (a misuse panics, and a panic is not an
``Exception``), so each thread builds its own from the bundle on first use and keeps it in a
module-level thread-local cache keyed by bundle version: the cache lives as long as the thread,
so every engine is dropped by the thread that made it.

``OpaEngine`` asks an OPA server through its Data API (``POST /v1/data/<package>/<rule>``) with
``opa-python-client``. The server must have loaded the same ``policies/`` directory as a bundle;
the decision's ``policy_version`` names the gateway's copy.

Both raise :class:`PolicyEngineError` for anything that is not a clean answer, so the caller
can fail closed.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol
from urllib.parse import urlsplit

import regorus
import requests
from opa_client import OpaClient

from gateway.policy.bundle import PolicyBundle

DECISION_PACKAGE = "kindkoppeling.decision"  # exchanges
SAFETY_PACKAGE = "kindkoppeling.safety"  # safety-code changes
GUARDIANS_PACKAGE = "kindkoppeling.guardians"  # recording parents and guardians
DECISION_RULE = "decision"  # every package answers with a rule of this name
_THREAD = threading.local()


class PolicyEngineError(RuntimeError):
    """The engine could not give an answer (down, slow, broken, or a bad answer)."""


class PolicyEngine(Protocol):
    name: str

    def evaluate(self, document: dict[str, Any], package: str = DECISION_PACKAGE) -> Any:
        """Evaluate ``package``'s decision rule for one input document."""

    def ready(self) -> bool:
        """Can the engine decide now? (For the readiness probe.)"""


class RegorusEngine:
    name = "regorus"

    def __init__(self, bundle: PolicyBundle, *, include_tests: bool = False) -> None:
        self._bundle = bundle
        self._include_tests = include_tests
        self._key = (bundle.root, bundle.version, include_tests)
        self.engine()  # fail at start, not at the first request, if the bundle does not load

    def ready(self) -> bool:
        return True  # in-process: it loaded at start or the service did not start

    def engine(self) -> regorus.Engine:
        """This thread's engine for this bundle, built on first use."""
        cache: dict[tuple[object, ...], regorus.Engine] | None = getattr(_THREAD, "engines", None)
        if cache is None:
            cache = _THREAD.engines = {}
        engine = cache.get(self._key)
        if engine is None:
            engine = regorus.Engine()
            modules = dict(self._bundle.modules)
            if self._include_tests:
                modules.update(self._bundle.tests)
            for path, source in modules.items():
                engine.add_policy(path, source)
            engine.add_data_json(json.dumps(self._bundle.data))
            cache[self._key] = engine
        return engine

    def evaluate(self, document: dict[str, Any], package: str = DECISION_PACKAGE) -> Any:
        return self.eval_rule(f"data.{package}.{DECISION_RULE}", document)

    def eval_rule(self, rule: str, document: dict[str, Any] | None = None) -> Any:
        engine = self.engine()
        try:
            if document is not None:
                engine.set_input(document)
            return engine.eval_rule(rule)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # regorus panics are BaseException (pyo3 PanicException)
            raise PolicyEngineError(f"regorus failed to evaluate {rule}: {exc}") from exc


class OpaEngine:
    name = "opa"

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"GATEWAY_OPA_URL must be an http(s) URL, not {url!r}")
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            timeout=timeout,
            retries=0,
        )

    def evaluate(self, document: dict[str, Any], package: str = DECISION_PACKAGE) -> Any:
        try:
            answer = self._client.query_rule(document, package, DECISION_RULE)
        except (requests.RequestException, ValueError) as exc:
            raise PolicyEngineError(f"the OPA server did not answer: {exc}") from exc
        if not isinstance(answer, dict) or "result" not in answer:
            # OPA omits "result" when the rule is undefined: the server lacks our bundle.
            raise PolicyEngineError("the OPA server has no decision rule loaded")
        return answer["result"]

    def ready(self) -> bool:
        return bool(self._client.check_health())

    def close(self) -> None:
        self._client.close_connection()
