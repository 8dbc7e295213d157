"""Managing an organisation's webhook subscriptions; each change is on the audit log."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import record
from gateway.db import change_once
from gateway.errors import NotFoundError, ValidationFailedError
from gateway.exchanges.sealing import MasterKeyring, seal
from gateway.webhooks import signing
from gateway.webhooks.addresses import InternalAddressError, check_public
from gateway.webhooks.delivery import secret_context
from gateway.webhooks.models import MessageStatus, WebhookMessage, WebhookSubscription

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_PER_ORGANISATION = 20


def check_url(url: str, *, dev: bool) -> None:
    """https to a public name or address; plain http only to a loopback address, and only in
    dev. Outside dev a host that is or resolves to an address on the gateway's own networks
    (loopback, private, link-local, in any spelling the resolver accepts) is refused, so a
    subscription cannot make the gateway call its neighbours. A name that resolves to nothing
    now is accepted: every delivery resolves and checks it again
    (:class:`~gateway.webhooks.addresses.GuardedBackend`)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
    except ValueError:  # a malformed authority (an unclosed "[" of an IPv6 address, a port)
        parts, host, port = urlsplit(""), "", 0
    if dev and parts.scheme == "http" and host in LOOPBACK:
        return
    if parts.scheme == "https" and host and (dev or _public(host, port)):
        return
    raise ValidationFailedError(
        "A webhook URL must be https to a public host (plain http only to a loopback address "
        "in dev).",
        errors=[{"pointer": "#/url", "detail": "must be https to a public host"}],
    )


def _public(host: str, port: int) -> bool:
    try:
        check_public(host, port)
    except InternalAddressError:
        return False
    except OSError:
        return True  # no address now; checked again at every delivery
    return True


def create(
    session: Session,
    keyring: MasterKeyring,
    organisation_id: str,
    actor: Actor,
    url: str,
    event_types: list[str],
    *,
    dev: bool,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (returned once, kept sealed)."""
    check_url(url, dev=dev)
    held = session.scalar(
        select(func.count()).where(WebhookSubscription.organisation_id == organisation_id)
    )
    if (held or 0) >= MAX_PER_ORGANISATION:
        raise ValidationFailedError(
            f"An organisation has at most {MAX_PER_ORGANISATION} webhooks.",
            errors=[{"pointer": "#/url", "detail": "too many webhooks"}],
        )
    subscription_id = str(uuid.uuid4())
    secret = signing.new_secret()
    sealed = seal(keyring, secret.encode(), secret_context(subscription_id))
    subscription = WebhookSubscription(
        id=subscription_id,
        organisation_id=organisation_id,
        url=url,
        event_types=sorted(set(event_types)),
        secret_key_id=sealed.wrapped_key.key_id,
        secret_wrapped=sealed.wrapped_key.blob,
        secret_sealed=sealed.ciphertext,
    )
    session.add(subscription)
    _record(session, actor, "webhook.create", subscription)
    session.commit()
    return subscription, secret


def get(session: Session, organisation_id: str, webhook_id: str) -> WebhookSubscription:
    """One of the organisation's own subscriptions; any other id is simply not found."""
    subscription = session.get(WebhookSubscription, webhook_id)
    if subscription is None or subscription.organisation_id != organisation_id:
        raise NotFoundError("There is no webhook with this id for you.")
    return subscription


def listed(session: Session, organisation_id: str) -> list[WebhookSubscription]:
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.organisation_id == organisation_id)
            .order_by(WebhookSubscription.created_at)
        )
    )


def update(
    session: Session,
    subscription: WebhookSubscription,
    actor: Actor,
    *,
    url: str | None,
    event_types: list[str] | None,
    paused: bool | None,
    dev: bool,
) -> WebhookSubscription:
    if url is not None:
        check_url(url, dev=dev)
        subscription.url = url
    if event_types is not None:
        subscription.event_types = sorted(set(event_types))
    if paused is not None:
        subscription.paused = paused
    _record(session, actor, "webhook.update", subscription)
    session.commit()
    return subscription


def delete(session: Session, subscription: WebhookSubscription, actor: Actor) -> None:
    _record(session, actor, "webhook.delete", subscription)
    change_once(
        session,
        sa_delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id),
        NotFoundError("There is no webhook with this id for you."),
    )
    session.commit()


def failed_counts(session: Session, subscription_ids: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(WebhookMessage.subscription_id, func.count())
        .where(
            WebhookMessage.subscription_id.in_(subscription_ids),
            WebhookMessage.status == MessageStatus.FAILED,
        )
        .group_by(WebhookMessage.subscription_id)
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}


def deliveries(
    session: Session, subscription: WebhookSubscription, *, offset: int, limit: int
) -> tuple[list[WebhookMessage], int]:
    """The subscription's messages, newest first, with their attempts."""
    where = WebhookMessage.subscription_id == subscription.id
    total = session.scalar(select(func.count()).select_from(WebhookMessage).where(where)) or 0
    messages = session.scalars(
        select(WebhookMessage)
        .where(where)
        .order_by(WebhookMessage.created_at.desc(), WebhookMessage.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(messages), int(total)


def _record(session: Session, actor: Actor, action: str, subscription: WebhookSubscription) -> None:
    record(
        session,
        Entry(
            action=action,
            actor=actor,
            outcome="success",
            subject=subscription.id,
            extra={"event_types": ",".join(subscription.event_types)},
        ),
    )
