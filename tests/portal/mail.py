"""An SMTP server on loopback that keeps what it receives (aiosmtpd), the gateway's mailer
pointed at it, and leaving an address in the portal: shared by the notice tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from gateway.notifications.sending import Mailer, SmtpServer
from tests.portal.live import LiveGateway, csrf_of, free_port

ADDRESS = "fatma.yilmaz@mail.example"


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def receiving() -> Iterator[tuple[Inbox, int]]:
    """An inbox and the loopback port its SMTP server listens on, while the block runs."""
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def mailer(live: LiveGateway, port: int) -> Mailer:
    state = live.app.state
    return Mailer(
        state.sessions,
        state.exchanges.keyring,
        SmtpServer(f"smtp://127.0.0.1:{port}"),
        "Kindkoppeling <noreply@kindkoppeling.test>",
        f"{live.url}/portaal",
    )


def leave_address(client: httpx.Client, address: str) -> httpx.Response:
    page = client.get("/portaal/e-mail")
    return client.post(
        "/portaal/e-mail",
        data={"csrf_token": csrf_of(page.text), "email": address, "actie": "opslaan"},
    )
