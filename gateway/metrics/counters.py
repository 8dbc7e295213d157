"""The counters of this process's work: requests and policy decisions.

With several workers, ``gateway serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory
before the workers start, and a scrape adds up every worker's counts (prometheus-client's
multiprocess mode). Label values are templates and the gateway's own enumerations, never
anything a caller chooses freely: unknown methods are ``other``, a purpose the register does
not know is ``unknown``.
"""

from __future__ import annotations

from prometheus_client import Counter

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "kindkoppeling"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
DECISIONS = Counter(
    f"{PREFIX}_policy_decisions",
    "Exchange decisions of the policy engine (at request, at every fetch, and previews), by "
    "purpose and outcome (allow, await_consent or deny).",
    ["purpose", "outcome"],
)


def count_request(method: str, route: str, status: int) -> None:
    REQUESTS.labels(method if method in _METHODS else "other", route, str(status)).inc()


def count_decision(purpose: str, outcome: str) -> None:
    """``purpose`` must already be a register purpose or ``unknown``."""
    DECISIONS.labels(purpose, outcome).inc()
