"""The deploy files hold together: the compose file gives the gateway every setting production
requires, runs migrations before the gateway and OPA on the same policies; ``.env.example``
documents every setting there is; the image runs unprivileged with a health check. (No
container runtime here: the files are parsed and checked against the gateway's own code.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.keys import SECRET_SETTINGS, production_requirements
from gateway.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GATEWAY_SERVICES = ("migrate", "gateway")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def example_variables() -> dict[str, str]:
    """Every ``NAME=value`` of .env.example, commented out or not: the set (uncommented) ones
    and the documented ones."""
    found = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match.group(2)] = "" if match.group(1) else match.group(3)
    return found


def environment_of(compose: dict[str, Any], service: str) -> dict[str, str]:
    spec = compose["services"][service]
    environment = spec.get("environment", {})
    assert isinstance(environment, dict), "use the mapping form: names are checked"
    return {name: str(value) for name, value in environment.items()}


def test_every_setting_production_requires_is_provided(compose: dict[str, Any]) -> None:
    required = production_requirements(Settings())
    generated = {f"GATEWAY_{name.upper()}" for name in SECRET_SETTINGS}
    for service in GATEWAY_SERVICES:
        spec = compose["services"][service]
        provided = set(environment_of(compose, service))
        assert spec["env_file"] == ".env", service  # made from .env.example and keys generate
        documented = set(example_variables())
        missing = [
            name
            for name in required
            if name not in provided and not (name in documented and name in generated)
        ]
        assert not missing, f"{service} lacks {missing}"
        assert environment_of(compose, service)["GATEWAY_ENVIRONMENT"] == "production"


def test_the_gateway_asks_the_opa_service_which_loads_the_same_policies(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    opa = services["opa"]
    assert opa["image"].startswith("openpolicyagent/opa:")
    command = opa["command"]
    assert command[:2] == ["run", "--server"]
    bundle = command[command.index("--bundle") + 1]
    assert f"../policies:{bundle}:ro" in opa["volumes"]
    address = next(a for a in command if a.startswith("--addr="))
    port = address.rsplit(":", 1)[1]
    for service in GATEWAY_SERVICES:
        environment = environment_of(compose, service)
        assert environment["GATEWAY_OPA_URL"] == f"http://opa:{port}"
        policy_dir = environment["GATEWAY_POLICY_DIR"]
        assert f"../policies:{policy_dir}:ro" in services[service]["volumes"]


def test_the_database_is_the_postgres_service_and_migrations_run_first(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "healthcheck" in postgres
    user, database = (
        postgres["environment"]["POSTGRES_USER"],
        postgres["environment"]["POSTGRES_DB"],
    )
    for service in GATEWAY_SERVICES:
        url = environment_of(compose, service)["GATEWAY_DATABASE_URL"]
        assert re.fullmatch(
            rf"postgresql\+psycopg://{user}:\$\{{POSTGRES_PASSWORD[^}}]*\}}@postgres:5432/{database}",
            url,
        ), url
    assert services["migrate"]["command"] == ["gateway", "db", "upgrade"]
    gateway = services["gateway"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    serve = gateway["command"]
    assert serve[:2] == ["gateway", "serve"]
    assert int(serve[serve.index("--workers") + 1]) >= 2


def test_two_replicas_behind_one_entry_point(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gateway, entry = services["gateway"], services["entry"]
    assert gateway["deploy"]["replicas"] >= 2
    assert "ports" not in gateway  # replicas are reached through the entry point only
    assert entry["image"].startswith("nginx:")
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in entry["volumes"]
    assert all(p.startswith("127.0.0.1:") for p in entry["ports"])  # behind your TLS proxy
    listen = entry["ports"][0].rsplit(":", 1)[1]
    config = (DEPLOY / "nginx.conf").read_text()
    assert f"listen {listen};" in config
    serve = gateway["command"]
    assert re.search(rf"server gateway:{serve[serve.index('--port') + 1]};", config)
    assert "X-Forwarded-For" in config
    assert environment_of(compose, "gateway")["FORWARDED_ALLOW_IPS"] == "*"
    assert "POSTGRES_PASSWORD" in example_variables()


def test_env_example_documents_every_setting_and_only_real_ones() -> None:
    documented = {name for name in example_variables() if name.startswith("GATEWAY_")}
    settings = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}

    assert documented == settings
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.fullmatch(r"(#\s*)?GATEWAY_[A-Z_]+=.*", line.strip()):
            above = lines[number - 1].strip()
            assert above.startswith("#") and "=" not in above.split()[1], f"{line}: no comment"


def test_env_example_holds_no_usable_secret() -> None:
    values = example_variables()

    assert not [name for name in SECRET_SETTINGS if values.get(f"GATEWAY_{name.upper()}")]
    assert values["POSTGRES_PASSWORD"].startswith("change-me")


def test_the_image_is_slim_unprivileged_and_checks_readiness() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [
        line.split(maxsplit=1)
        for line in text.splitlines()
        if line and not line.startswith(("#", " ")) and line.split()[0].isupper()
    ]
    by_name: dict[str, list[str]] = {}
    for name, rest in instructions:
        by_name.setdefault(name, []).append(rest)

    base = dict(arg.split("=", 1) for arg in by_name["ARG"])["BASE_IMAGE"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    assert by_name["FROM"] == ["${BASE_IMAGE}"]
    assert "python3 -m venv /opt/venv" in text  # never into the base's own Python
    user = by_name["USER"][-1].split(":")[0]
    assert user not in {"root", "0"}
    assert "/health/ready" in by_name["HEALTHCHECK"][0] + text.split("HEALTHCHECK", 1)[1]
    assert "GATEWAY_ENVIRONMENT=production" in text
    assert '"gateway", "serve"' in by_name["CMD"][0]
