"""Webhook tests act in the exchange tests' world, with a real receiver on a loopback port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.webhooks.delivery import Deliverer
from tests.exchanges.conftest import world
from tests.exchanges.world import Party, World
from tests.loopback import serving

__all__ = ["world"]


@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """An HTTP server that keeps what it is sent and answers from a script (then 204)."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.event["type"] == event_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = holder[0]
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            time.sleep(me.delay)
            with me.lock:
                me.received.append(Received(dict(self.headers.items()), body))
                status = me.answers.pop(0) if me.answers else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as server:
        holder.append(Receiver(server))
        yield holder[0]


class Clock:
    """Real time, moved ahead by the test: retries come due without waiting for them."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def advance(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deliverer(world: World, clock: Clock) -> Deliverer:
    state = world.app.state
    return Deliverer(state.sessions, state.exchanges.keyring, clock=clock, allow_internal=True)


def subscribe(world: World, party: Party, url: str, *event_types: str) -> dict[str, object]:
    from gateway.webhooks.events import EVENT_TYPES

    response = world.client.post(
        "/api/v1/webhooks",
        json={"url": url, "event_types": list(event_types or EVENT_TYPES)},
        headers=party.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created
