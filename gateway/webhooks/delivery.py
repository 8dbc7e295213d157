"""Sending the outbox: claim due messages, sign and POST them, retry with backoff, give up.

Messages are claimed by lease (:mod:`gateway.outbox`), so several workers (processes,
replicas) never send one message at the same time. Each attempt is kept;
a 2xx answer delivers the message, anything else (or no answer) schedules the next attempt after
the Standard Webhooks schedule, and after the last one the message is ``failed``, which the
organisation sees at ``GET /api/v1/webhooks/{id}/deliveries``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.orm import Session, sessionmaker

from gateway.exchanges.sealing import MasterKeyring, Sealed, WrappedKey, unseal
from gateway.outbox import claim_due
from gateway.webhooks import signing
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
TIMEOUT = 10.0


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
    client: httpx.Client | None = None

    def run_once(self) -> int:
        """Send every message that is due now; return how many were attempted."""
        claimed = self._claim()
        if not claimed:
            return 0
        http = self.client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        try:
            for message_id in claimed:
                self._send(http, message_id)
        finally:
            if self.client is None:
                http.close()
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

    def _send(self, http: httpx.Client, message_id: str) -> None:
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


def _post(http: httpx.Client, url: str, body: str, headers: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    code: int | None
    error: str | None
    try:
        response = http.post(
            url,
            content=body.encode(),
            headers={**headers, "content-type": "application/json", "user-agent": "kindkoppeling"},
        )
    except httpx.HTTPError as exc:
        code, error = None, type(exc).__name__
    else:
        code, error = response.status_code, None
    return {
        "status_code": code,
        "error": error,
        "duration_ms": round((time.perf_counter() - started) * 1000),
    }
