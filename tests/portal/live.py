"""A real gateway on a loopback port (uvicorn in a thread), for tests that need one: OIDC login
makes the portal call its identity provider over HTTP, as it would in production."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveGateway:
    url: str
    app: FastAPI
    clients: list[httpx.Client] = field(default_factory=list)


def live_settings(database_url: str, data_dir: Path, port: int, **overrides: Any) -> Settings:
    """Dev settings of a gateway served on ``port`` of the loopback address."""
    return Settings(
        environment="dev",
        data_dir=data_dir,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        maintenance_interval=0,
        outbox_interval=0,
        **overrides,
    )


@contextmanager
def running(settings: Settings, port: int) -> Iterator[LiveGateway]:
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    gateway = LiveGateway(f"http://127.0.0.1:{port}", app)
    try:
        yield gateway
    finally:
        for client in gateway.clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def live_gateway(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[LiveGateway]:
    """A dev gateway with ``overrides`` on a free loopback port."""
    port = free_port()
    with running(live_settings(database_url, data_dir, port, **overrides), port) as gateway:
        yield gateway


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def browser(gateway: LiveGateway) -> httpx.Client:
    """A browser-like client (cookies, redirects), closed with the gateway."""
    client = httpx.Client(base_url=gateway.url, follow_redirects=True, timeout=10)
    gateway.clients.append(client)
    return client


def choose_person(
    client: httpx.Client, page: httpx.Response, person: str, level: str = ""
) -> httpx.Response:
    """Submit the dev provider's login form on ``page`` as ``person``, at the default level of
    assurance or the ``level`` (an acr value) chosen."""
    action = re.search(r'<form method="post" action="([^"]*/authorize[^"]*)"', page.text)
    assert action, "no login form"
    return client.post(
        action.group(1).replace("&amp;", "&"),
        data={"csrf_token": csrf_of(page.text), "person": person, "level": level},
    )


def log_in(gateway: LiveGateway, person: str, accept_language: str | None = None) -> httpx.Client:
    """A browser-like client logged in as a dev person, through the real Authorization Code +
    PKCE flow; its browser asks for ``accept_language``, if given."""
    client = browser(gateway)
    if accept_language is not None:
        client.headers["Accept-Language"] = accept_language
    page = client.get("/portaal/inloggen")
    assert page.status_code == 200, page.text
    done = choose_person(client, page, person)
    assert done.status_code == 200, done.text
    return client
