"""The image, built by scripts/image from deploy/Dockerfile, started with podman as an operator
would start it: unprivileged, read-only, healthy, serving tokens, creates and fetches; ten
fresh two-worker starts that all come up; a start whose worker fails exits non-zero; two
containers on one PostgreSQL database with one log that verifies; the compose file accepted by
podman-compose.

Marked ``container``: scripts/test builds the image and runs them (CI too); on a machine without
podman, deselect them visibly with ``-m 'not container'``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.demo import CREDENTIALS_FILE_NAME, load_credentials
from tests.conftest import drop_database, fresh_database_url
from tests.factories import with_check_digit
from tests.operations.containers import ROOT, gateway_run, podman, started
from tests.operations.test_production_start import Party
from tests.policy.opa_test_server import free_port
from tests.test_keys import production_secrets

pytestmark = pytest.mark.container
GATEWAY = str(Path(sys.executable).with_name("gateway"))
SCHOOL, LEERPLICHT = "12AB", "GM0344"  # demo organisations: a school, its gemeente's leerplicht


@pytest.fixture
def production(server_backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Production settings on a fresh PostgreSQL database (the container's public URL is set
    by each test, from the port it serves on)."""
    url = fresh_database_url(server_backend, tmp_path)
    yield {
        "GATEWAY_ENVIRONMENT": "production",
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_LOG_LEVEL": "WARNING",
        **{f"GATEWAY_{name.upper()}": value for name, value in production_secrets().items()},
    }
    drop_database(url)


def served_at(environment: dict[str, str], port: int) -> dict[str, str]:
    return {**environment, "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}"}


def on_host(environment: dict[str, str], data_dir: Path, *arguments: str) -> str:
    """The same ``gateway`` command on the host, against the containers' database."""
    env = {**os.environ, **environment, "GATEWAY_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [GATEWAY, *arguments], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def demo_parties(
    environment: dict[str, str], data_dir: Path, client: httpx.Client
) -> dict[str, Party]:
    """The demo organisations by identifier, written into the database by the demo command
    (which runs only in dev, so as dev with the same keys), each with a token from ``client``'s
    gateway."""
    on_host({**environment, "GATEWAY_ENVIRONMENT": "dev"}, data_dir, "demo", "--no-scenario")
    credentials = load_credentials(data_dir / CREDENTIALS_FILE_NAME)
    return {
        entry["identifier"]: Party(client, entry, credentials["token_url"])
        for entry in credentials["organisations"]
        if entry["role"] != "gateway"
    }


def report_absence(school: Party, number: int) -> str:
    """A school reports a thuiszitter; the gateway creates a verzuimmelding to leerplicht."""
    bsn = next(b for n in range(number, number + 100) if (b := with_check_digit(f"{n:08d}")))
    reported = school.post(
        "/absence-reports",
        {
            "child": {"bsn": bsn, "birth_date": "2014-03-01"},
            "gemeente": "GM0344",
            "enrolled": True,
            "absent_since": "2026-09-01",
        },
    )
    assert reported.status_code == 201, reported.text
    return str(reported.json()["exchange"]["id"])


def test_the_image_runs_unprivileged_read_only_healthy_and_serves_an_exchange(
    production: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    environment = served_at(production, port)
    upgraded = gateway_run(environment, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr

    with started(environment, port) as container, httpx.Client(base_url=container.url) as client:
        container.wait_until_ready()

        assert container.exec("id", "-u").stdout.strip() == "10001"
        read_only = podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", container.name)
        assert read_only.stdout.strip() == "true"
        assert container.exec("touch", "/app/gateway/planted.py").returncode != 0
        assert container.exec("touch", "/var/lib/kindkoppeling/written").returncode == 0
        health = podman("healthcheck", "run", container.name)
        assert health.returncode == 0, health.stdout + health.stderr

        parties = demo_parties(environment, tmp_path / "var", client)
        created = report_absence(parties[SCHOOL], 31_000_000)
        fetched = parties[LEERPLICHT].get(f"/exchanges/{created}/payload")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["purpose"] == "verzuimmelding"


def test_ten_fresh_two_worker_starts_on_an_empty_database_all_come_up() -> None:
    # Dev migrates at start, in each worker: without the migration lock about half of these
    # starts failed ("table organisations already exists") and the container still exited 0.
    for _ in range(10):
        port = free_port()
        environment = {"GATEWAY_ENVIRONMENT": "dev", **served_at({}, port)}
        with started(environment, port) as container:
            container.wait_until_ready()
            assert "already exists" not in container.logs()


def test_a_start_whose_worker_fails_exits_non_zero() -> None:
    port, closed = free_port(), free_port()  # nothing listens on ``closed``
    environment = {
        "GATEWAY_ENVIRONMENT": "dev",
        "GATEWAY_DATABASE_URL": f"postgresql+psycopg://nobody:x@127.0.0.1:{closed}/none",
        **served_at({}, port),
    }
    with started(environment, port) as container:
        waited = podman("wait", container.name, timeout=90)

        assert waited.returncode == 0, waited.stderr
        assert int(waited.stdout.strip()) != 0, container.logs()


def test_two_containers_on_one_database_keep_one_log_that_verifies(
    production: dict[str, str], tmp_path: Path
) -> None:
    # Two replicas behind one public URL, both told to migrate at start, started together on
    # an empty database.
    first, second = free_port(), free_port()
    replica = served_at({**production, "GATEWAY_MIGRATE_AT_START": "true"}, first)
    with (
        started(replica, first) as one,
        started(replica, second) as other,
        httpx.Client(base_url=one.url, timeout=20) as to_one,
        httpx.Client(base_url=other.url, timeout=20) as to_other,
    ):
        one.wait_until_ready()
        other.wait_until_ready()
        # Tokens are the gateway's, not a replica's: one from either works at both.
        parties = demo_parties(replica, tmp_path / "var", to_one)
        school = parties[SCHOOL]
        created = [report_absence(school, 32_000_000 + 1000 * n) for n in range(3)]
        school.client = to_other
        created += [report_absence(school, 33_000_000 + 1000 * n) for n in range(3)]
        leerplicht = parties[LEERPLICHT]
        for n, exchange_id in enumerate(created):
            leerplicht.client = (to_one, to_other)[n % 2]
            assert leerplicht.get(f"/exchanges/{exchange_id}/payload").status_code == 200

    verified = on_host(replica, tmp_path / "var", "audit", "verify")
    assert not verified.startswith("0 entries")


def test_podman_compose_accepts_the_compose_file_with_the_example_environment(
    tmp_path: Path,
) -> None:
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    shutil.copy(deploy / ".env.example", deploy / ".env")
    compose = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    assert compose, "podman-compose is a test dependency (pyproject's test extra)"

    done = subprocess.run(
        [compose, "-f", "compose.yaml", "config"],
        cwd=deploy,
        env={**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "containers.conf")},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    assert config["services"]["gateway"]["environment"]["GATEWAY_ENVIRONMENT"] == "production"
    assert "change-me" in config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
