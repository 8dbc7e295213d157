"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gateway import migrations
from gateway.app import create_app
from gateway.db import make_engine
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL


def test_live_and_ready(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_not_ready_while_migrations_are_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    migrations.upgrade(make_engine(url), "base")
    settings = Settings(environment="production", data_dir=tmp_path, database_url=url)
    # production does not migrate at start; give it keys so it starts at all
    settings = settings.model_copy(update=_production_keys())

    with TestClient(create_app(settings), base_url=PUBLIC_URL) as client:
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["check"] == "migrations"


def test_not_ready_when_the_database_does_not_answer(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none?connect_timeout=1"
    settings = Settings(environment="production", data_dir=tmp_path, database_url=url)
    settings = settings.model_copy(update=_production_keys())

    with TestClient(create_app(settings), base_url=PUBLIC_URL) as client:
        response = client.get("/health/ready")
        live = client.get("/health/live")

    assert response.status_code == 503
    assert response.json()["check"] == "database"
    assert live.status_code == 200


def test_not_ready_when_the_opa_server_does_not_answer(settings: Settings) -> None:
    from tests.policy.opa_test_server import free_port

    silent = settings.model_copy(
        update={"opa_url": f"http://127.0.0.1:{free_port()}", "opa_timeout": 0.5}
    )

    with TestClient(create_app(silent), base_url=PUBLIC_URL) as client:
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["check"] == "policy"


def _production_keys() -> dict[str, object]:
    from pydantic import SecretStr

    from tests.test_keys import production_secrets

    return {name: SecretStr(value) for name, value in production_secrets().items()}
