"""The gateway's image (scripts/image) run with podman, for the container tests: each container
runs the image's own command (port 8000, two workers), as the image's unprivileged user, with a
read-only root filesystem and a named volume for its data directory. Its port 8000 is
published on a loopback port of the host; through slirp4netns it reaches the host's loopback
(the test PostgreSQL) at 10.0.2.2.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.waiting import until_answering

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "scripts" / "containers.conf"
NETWORK = "slirp4netns:allow_host_loopback=true"
HOST_LOOPBACK = "10.0.2.2"  # the host's 127.0.0.1, seen from a container on NETWORK


def image() -> str:
    name = os.environ.get("GATEWAY_TEST_IMAGE")
    if not name:
        pytest.fail(
            "GATEWAY_TEST_IMAGE is not set: run scripts/test, which builds the image with "
            "scripts/image, or deselect the container tests with -m 'not container'"
        )
    return name


def podman(
    *arguments: str, environment: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(environment or {}), "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    return subprocess.run(
        ["podman", *arguments], env=env, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Container:
    name: str
    url: str

    def logs(self) -> str:
        done = podman("logs", self.name)
        return done.stdout + done.stderr

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name)
        return state.stdout.strip() == "true"

    def exit_code(self) -> int:
        done = podman("inspect", "--format", "{{.State.ExitCode}}", self.name)
        return int(done.stdout.strip())

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *command)

    def wait_until_ready(self, timeout: float = 90) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            until_answering(
                client, "/health/ready", running=self.running, output=self.logs, timeout=timeout
            )


def inside(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` as a container sees it: the host's loopback database at HOST_LOOPBACK."""
    url = environment.get("GATEWAY_DATABASE_URL")
    if url is None:
        return environment
    return {**environment, "GATEWAY_DATABASE_URL": url.replace("@127.0.0.1:", f"@{HOST_LOOPBACK}:")}


def gateway_run(environment: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    """A one-off ``gateway`` command in a container from the image (``gateway db upgrade``)."""
    return podman(
        "run", "--rm", "--network", NETWORK, "--env", "GATEWAY_*", image(), "gateway", *command,
        environment=inside(environment),
    )  # fmt: skip


@contextmanager
def started(environment: dict[str, str], port: int) -> Iterator[Container]:
    """A container running the image's command, published on ``port``, with the
    ``GATEWAY_*`` of ``environment``; removed, with its data volume, afterwards."""
    name = f"kk-test-{uuid.uuid4().hex[:12]}"
    done = podman(
        "run", "--detach", "--name", name, "--network", NETWORK,
        "--publish", f"127.0.0.1:{port}:8000", "--read-only",
        "--volume", f"{name}:/var/lib/kindkoppeling", "--env", "GATEWAY_*",
        "--health-interval", "disable",  # no systemd timers here: `podman healthcheck run`
        image(),
        environment=inside(environment),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    try:
        yield Container(name, f"http://127.0.0.1:{port}")
    finally:
        podman("rm", "--force", "--time", "10", name)
        podman("volume", "rm", "--force", name)
