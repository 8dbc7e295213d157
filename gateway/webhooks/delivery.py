"""Sending the outbox: claim due messages, sign and POST them, retry with backoff, give up.

Messages are claimed by lease (:mod:`gateway.outbox`), so several workers (processes,
replicas) never send one message at the same time. Each attempt is kept;
a 2xx answer delivers the message, anything else (or no answer) schedules the next attempt after
the Standard Webhooks schedule, and after the last one the message is ``failed``, which the
organisation sees at ``GET /api/v1/webhooks/{id}/deliveries``. Outside dev a message goes only
to the public addresses its host resolves to when it is sent (:mod:`.addresses`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import structlog
from sqlalchemy.orm import Session, sessionmaker

from gateway.exchanges.sealing import MasterKeyring, Sealed, WrappedKey, unseal
from gateway.outbox import claim_due
from gateway.webhooks import signing
from gateway.webhooks.addresses import GuardedBackend
from gateway.webhooks.models import (
    MessageStatus,
    WebhookAttempt,
    WebhookMessage,
    WebhookSubscription,
)

log = structlog.get_logger(__name__)

# Seconds after each failed attempt before the next (the schedule Standard Webhooks suggests,
# after the first immediate try): 8 attempts over a day and a half.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
TIMEOUT = {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
SEND_FAILURES = (
    httpcore.NetworkError,  # no connection, or refused: an internal address (outside dev)
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)


def secret_context(subscription_id: str) -> bytes:
    return f"webhook-secret:{subscription_id}".encode()


def secret_of(keyring: MasterKeyring, subscription: WebhookSubscription) -> str:
    sealed = Sealed(
        WrappedKey(subscription.secret_key_id, subscription.secret_wrapped),
        subscription.secret_sealed,
    )
    return unseal(keyring, sealed, secret_context(subscription.id)).decode()


@dataclass
class Deliverer:
    sessions: sessionmaker[Session]
    keyring: MasterKeyring
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    schedule: tuple[int, ...] = RETRY_SCHEDULE
    allow_internal: bool = False  # dev: receivers on loopback are fine

    def run_once(self) -> int:
        """Send every message that is due now; return how many were attempted."""
        claimed = self._claim()
        if not claimed:
            return 0
        backend = GuardedBackend(allow_internal=self.allow_internal)
        with httpcore.ConnectionPool(network_backend=backend) as http:
            for message_id in claimed:
                self._send(http, message_id)
        return len(claimed)

    def _claim(self) -> list[str]:
        with self.sessions() as session:
            return claim_due(
                session,
                WebhookMessage,
                MessageStatus.PENDING,
                self.clock(),
                WebhookSubscription.paused.is_(False),
                join=WebhookSubscription,
            )

    def _send(self, http: httpcore.ConnectionPool, message_id: str) -> None:
        with self.sessions() as session:
            message = session.get(WebhookMessage, message_id)
            subscription = (
                None
                if message is None
                else session.get(WebhookSubscription, message.subscription_id)
            )
            if message is None or subscription is None:  # deleted meanwhile
                return
            headers = signing.headers(
                secret_of(self.keyring, subscription), message.id, int(time.time()), message.body
            )
            outcome = _post(http, subscription.url, message.body, headers)
            now = self.clock()
            session.add(WebhookAttempt(message_id=message.id, attempted_at=now, **outcome))
            message.attempts += 1
            message.claimed_until = None
            code = outcome["status_code"]
            if code is not None and 200 <= code < 300:
                message.status = MessageStatus.DELIVERED
                message.delivered_at = now
            elif message.attempts > len(self.schedule):
                message.status = MessageStatus.FAILED
                log.warning("webhook_failed", message_id=message.id, attempts=message.attempts)
            else:
                message.next_attempt_at = now + timedelta(
                    seconds=self.schedule[message.attempts - 1]
                )
            session.commit()


def _post(
    http: httpcore.ConnectionPool, url: str, body: str, headers: dict[str, str]
) -> dict[str, Any]:
    """POST ``body`` (no redirects followed); the status, or the kind of failure."""
    started = time.perf_counter()
    code: int | None
    error: str | None
    try:
        sent = {**headers, "content-type": "application/json", "user-agent": "kindkoppeling"}
        response = http.request(
            "POST",
            url,
            headers=list(sent.items()),
            content=body.encode(),
            extensions={"timeout": TIMEOUT},
        )
    except SEND_FAILURES as exc:
        code, error = None, type(exc).__name__
    else:
        code, error = response.status, None
    return {
        "status_code": code,
        "error": error,
        "duration_ms": round((time.perf_counter() - started) * 1000),
    }
