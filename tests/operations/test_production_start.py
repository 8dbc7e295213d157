"""The production start, for real: ``gateway serve`` with two worker processes on PostgreSQL,
not ready until ``gateway db upgrade`` has run, then the demo scenario and every demo party's
part of it through the running service, and a scrape of ``/metrics`` that adds up both workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey
from prometheus_client.parser import text_string_to_metric_families

from gateway.auth.assertions import (
    sign_client_assertion,
    staff_token_request_form,
    token_request_form,
)
from gateway.demo import CREDENTIALS_FILE_NAME, load_credentials
from tests.conftest import drop_database, fresh_database_url
from tests.factories import with_check_digit
from tests.policy.opa_test_server import free_port
from tests.test_keys import production_secrets
from tests.waiting import until_answering

GATEWAY = str(Path(sys.executable).with_name("gateway"))
METRICS_TOKEN = "scrape-token-for-the-test"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def production(server_backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a production deployment on a fresh PostgreSQL database."""
    url = fresh_database_url(server_backend, tmp_path)
    port = free_port()
    environment = {
        **os.environ,
        "GATEWAY_ENVIRONMENT": "production",
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_DATA_DIR": str(tmp_path / "var"),
        "GATEWAY_METRICS_TOKEN": METRICS_TOKEN,
        "GATEWAY_LOG_LEVEL": "WARNING",
        **{f"GATEWAY_{name.upper()}": value for name, value in production_secrets().items()},
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    yield environment
    drop_database(url)


def gateway(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [GATEWAY, *arguments], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


@dataclass
class Served:
    client: httpx.Client
    process: subprocess.Popen[bytes]


@pytest.fixture
def served(production: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    port = production["GATEWAY_PUBLIC_URL"].rsplit(":", 1)[1]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [GATEWAY, "serve", "--host", "127.0.0.1", "--port", port, "--workers", "2"],
        env=production,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=production["GATEWAY_PUBLIC_URL"], timeout=20)
    try:
        until_answering(
            client,
            "/health/live",
            running=lambda: process.poll() is None,
            output=(tmp_path / "serve.log").read_text,
            timeout=60,
        )
        yield Served(client, process)
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def workers_of(pid: int) -> list[int]:
    """The worker processes under ``gateway serve`` (uvicorn spawns each with multiprocessing)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"multiprocessing" in Path(f"/proc/{child}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


class Party:
    def __init__(self, client: httpx.Client, entry: dict[str, Any], token_url: str) -> None:
        self.client, self.entry = client, entry
        key, client_id = ECKey.import_key(entry["private_jwk"]), entry["client_id"]
        if entry["staff_id"]:  # on behalf of the demo organisation's staff member
            form = staff_token_request_form(key, client_id, token_url, entry["staff_id"])
        else:
            form = token_request_form(sign_client_assertion(key, client_id, token_url), None)
        response = client.post("/oauth/token", data=form)
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(
        value
        for (sample, labels), value in samples.items()
        if sample == name and match.items() <= dict(labels).items()
    )


def test_two_workers_on_postgresql_run_the_demo_and_report_metrics(
    production: dict[str, str], served: Served
) -> None:
    server = served.client
    assert len(workers_of(served.process.pid)) == 2

    # Production does not migrate by itself: not ready until the separate step has run.
    pending = server.get("/health/ready")
    assert pending.status_code == 503 and pending.json()["check"] == "migrations"
    gateway(production, "db", "upgrade")
    assert server.get("/health/ready").status_code == 200

    # The demo scenario, written into the production database by the demo command (which
    # refuses GATEWAY_ENVIRONMENT=production, so it runs as dev with the same keys) ...
    narration = gateway({**production, "GATEWAY_ENVIRONMENT": "dev"}, "demo").stdout
    assert "1. Warme overdracht" in narration
    credentials = load_credentials(Path(production["GATEWAY_DATA_DIR"]) / CREDENTIALS_FILE_NAME)
    token_url = credentials["token_url"]
    organisations = [e for e in credentials["organisations"] if e["role"] != "gateway"]
    parties = {e["identifier"]: Party(server, e, token_url) for e in organisations}

    # ... and then every party's part of it through the two workers: each reads its exchanges
    # and fetches what it received (each fetch is decided again by the policy).
    fetched = 0
    for party in parties.values():
        listing = party.get("/exchanges", role="recipient", limit=100)
        assert listing.status_code == 200, listing.text
        for exchange in listing.json()["items"]:
            if exchange["status"] in {"delivered", "fetched"}:
                response = party.get(f"/exchanges/{exchange['id']}/payload")
                assert response.status_code in {200, 410}, response.text
                fetched += response.status_code == 200
    assert fetched >= 3

    school = next(p for p in parties.values() if p.entry["role"] == "school")
    bsn = next(b for n in range(30_000_000, 30_000_100) if (b := with_check_digit(f"{n:08d}")))
    today = date.today()
    absent = [{"date": str(today - timedelta(days=d)), "hours": 4} for d in (1, 3, 5, 8, 10)]
    reported = school.post(
        "/absence-reports",
        {
            "child": {"bsn": bsn, "birth_date": "2014-03-01"},
            "gemeente": "GM0344",
            "enrolled": True,
            "unexcused_absences": absent,
        },
    )
    assert reported.status_code == 201, reported.text
    assert school.get("/statistics").status_code == 200
    assert server.get("/api/v1/audit/checkpoint").status_code == 200

    # Every scrape, whichever worker answers it, counts every worker's requests.
    scrapes = [scrape(server) for _ in range(6)]
    payload_route = {"route": "/api/v1/exchanges/{exchange_id}/payload", "method": "GET"}
    name = "kindkoppeling_http_requests_total"
    assert {total(s, name, status="200", **payload_route) for s in scrapes} == {fetched}
    samples = scrapes[-1]
    assert total(samples, name, route="/api/v1/absence-reports", status="201") == 1
    assert total(samples, "kindkoppeling_policy_decisions_total", purpose="verzuimmelding") >= 1
    assert total(samples, "kindkoppeling_policy_decisions_total", outcome="allow") >= fetched
    assert total(samples, "kindkoppeling_audit_entries") > 0
    assert total(samples, "kindkoppeling_audit_checkpoint_age_seconds") >= 0
    assert total(samples, "kindkoppeling_payloads_shredded_total") >= 1  # the staged placement
    assert total(samples, "kindkoppeling_consents") > 0
    assert total(samples, "kindkoppeling_database_up") == 1
    exposition = server.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert bsn not in exposition.text
