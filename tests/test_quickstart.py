"""The README's quick start, end to end: a real server process, demo credentials, a token.

Runs ``gateway demo`` and ``gateway serve`` as the README's run command does, against the test
database, then scans the server's log for the secrets that passed through it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from gateway.settings import Settings

GATEWAY = str(Path(sys.executable).parent / "gateway")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def running_gateway(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], Path]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
        "GATEWAY_PUBLIC_URL": url,
    }
    demo = subprocess.run([GATEWAY, "demo"], env=env, capture_output=True, text=True, timeout=60)
    assert demo.returncode == 0, demo.stderr
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [GATEWAY, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx2.get(f"{url}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(f"gateway did not become ready:\n{log_path.read_text()}")
            yield url, env, log_path
        finally:
            server.terminate()
            server.wait(timeout=15)


def test_demo_credentials_obtain_a_token_that_reaches_me(
    running_gateway: tuple[str, dict[str, str], Path], settings: Settings
) -> None:
    url, env, log_path = running_gateway

    token = subprocess.run(
        [GATEWAY, "demo-token", "school"], env=env, capture_output=True, text=True, timeout=30
    )
    assert token.returncode == 0, token.stderr
    access_token = token.stdout.strip()
    me = httpx2.get(
        f"{url}/api/v1/organisations/me", headers={"Authorization": f"Bearer {access_token}"}
    )

    assert me.status_code == 200
    assert me.json()["role"] == "school"
    assert httpx2.get(f"{url}/docs").status_code == 200
    # The demo token acts for the school's demo staff member; --own is the school's own.
    own = subprocess.run(
        [GATEWAY, "demo-token", "school", "--own"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert own.returncode == 0, own.stderr
    as_staff = {"Authorization": f"Bearer {access_token}"}
    as_school = {"Authorization": f"Bearer {own.stdout.strip()}"}
    staff = httpx2.get(f"{url}/api/v1/organisations/me/staff", headers=as_school).json()
    assert [m["role"] for m in staff["items"]] == ["intern begeleider"]
    assert httpx2.get(f"{url}/api/v1/exchanges", headers=as_staff).status_code == 200
    assert httpx2.get(f"{url}/api/v1/exchanges", headers=as_school).status_code == 403

    # The log is JSON, names each request, and holds none of the secrets that passed by.
    credentials = json.loads((settings.data_dir / "demo-credentials.json").read_text())
    secrets = [access_token, *[o["private_jwk"]["d"] for o in credentials["organisations"]]]
    secrets += [o["client_secret"] for o in credentials["organisations"]]
    log_text = log_path.read_text()
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert {"/oauth/token", "/api/v1/organisations/me"} <= {r["route"] for r in requests}
    assert all(r["request_id"] for r in requests)
    for secret in secrets:
        assert secret not in log_text
