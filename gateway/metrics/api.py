"""``/metrics``: what the service did (:mod:`.counters`) and what the database holds
(:mod:`.database`), in the Prometheus text format. No label carries personal data: routes are
templates (``/api/v1/exchanges/{exchange_id}``, never an id), and the rest are the gateway's own
enumerations.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.revocation import Revocation
from gateway.errors import AuthenticationError
from gateway.metrics.counters import MULTIPROCESS_DIR_VARIABLE, PREFIX
from gateway.metrics.database import DatabaseCollector


def render(sessions: sessionmaker[Session], revocation: Revocation) -> bytes:
    """The exposition text: this process's (or every worker's) counters, the database, and the
    client CAs whose CRL is stale in the answering process."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCounters())
    registry.register(DatabaseCollector(sessions))
    registry.register(_StaleCrls(revocation))
    return generate_latest(registry)


class _StaleCrls(Collector):
    def __init__(self, revocation: Revocation) -> None:
        self.revocation = revocation

    def collect(self) -> Iterator[Metric]:
        stale = GaugeMetricFamily(
            f"{PREFIX}_client_ca_crl_stale",
            "1 for a client CA whose CRL is past nextUpdate plus the grace period.",
            labels=["ca"],
        )
        for ca in self.revocation.stale():
            stale.add_metric([ca], 1)
        yield stale


class _ProcessCounters(Collector):
    """Everything in the default registry: this process's counters and its own process metrics
    (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


router = APIRouter(tags=["operations"])


# Not in the API document: an operations endpoint for the scraper (README, Operations).
@router.get(
    "/metrics",
    summary="Prometheus metrics (no personal data in any label)",
    include_in_schema=False,
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {"description": "No token"}},
)
def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    expected = request.app.state.settings.metrics_token
    if expected is not None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(token.encode(), expected.get_secret_value().encode()):
            raise AuthenticationError("Metrics need the bearer token of GATEWAY_METRICS_TOKEN.")
    state = request.app.state
    return Response(render(state.sessions, state.revocation), media_type=CONTENT_TYPE_LATEST)
