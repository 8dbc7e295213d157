"""``/api/v1/webhooks``: an organisation's subscriptions to events, and what was sent to them.

A subscription names a URL and event types; its signing secret (Standard Webhooks, ``whsec_…``)
is shown once, when it is made. Every message carries ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature``; verify them with any Standard Webhooks library. Bodies are thin (type,
time, ids, purpose, status): fetch the details through the API, as yourself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import select

from gateway.deps import MAX_OFFSET, CurrentClient, SessionDep, SettingsDep, require_json
from gateway.exchanges.deps import ExchangesDep
from gateway.one_hop import OneHopRoute
from gateway.webhooks import service
from gateway.webhooks.models import MessageStatus, WebhookAttempt, WebhookSubscription
from gateway.webhooks.schemas import (
    AttemptOut,
    DeliveryList,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(require_json)],
)


def _out(subscription: WebhookSubscription, failed: int) -> WebhookOut:
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        event_types=subscription.event_types,
        paused=subscription.paused,
        created_at=subscription.created_at,
        failed_messages=failed,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to events; the answer holds the signing secret, once",
)
def create_webhook(
    body: WebhookCreate,
    client: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreated:
    subscription, secret = service.create(
        session,
        exchanges.keyring,
        client.organisation.id,
        client.actor,
        body.url,
        list(body.event_types),
        dev=settings.is_dev,
    )
    response.headers["Location"] = f"/api/v1/webhooks/{subscription.id}"
    return WebhookCreated(**_out(subscription, 0).model_dump(), secret=secret)


@router.get("", summary="Your organisation's webhooks")
def list_webhooks(client: CurrentClient, session: SessionDep) -> WebhookList:
    found = service.listed(session, client.organisation.id)
    failed = service.failed_counts(session, [s.id for s in found])
    return WebhookList(items=[_out(s, failed.get(s.id, 0)) for s in found], total=len(found))


@router.get("/{webhook_id}", summary="One of your webhooks")
def read_webhook(webhook_id: str, client: CurrentClient, session: SessionDep) -> WebhookOut:
    subscription = service.get(session, client.organisation.id, webhook_id)
    return _out(subscription, service.failed_counts(session, [webhook_id]).get(webhook_id, 0))


@router.patch("/{webhook_id}", summary="Change the URL or the events, or pause and resume")
def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    client: CurrentClient,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookOut:
    subscription = service.update(
        session,
        service.get(session, client.organisation.id, webhook_id),
        client.actor,
        url=body.url,
        event_types=None if body.event_types is None else list(body.event_types),
        paused=body.paused,
        dev=settings.is_dev,
    )
    return _out(subscription, service.failed_counts(session, [webhook_id]).get(webhook_id, 0))


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook and what it had not yet sent",
)
def delete_webhook(webhook_id: str, client: CurrentClient, session: SessionDep) -> Response:
    service.delete(session, service.get(session, client.organisation.id, webhook_id), client.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{webhook_id}/deliveries",
    summary="The messages of a webhook, newest first, with every attempt to send them",
)
def list_deliveries(
    webhook_id: str,
    client: CurrentClient,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    subscription = service.get(session, client.organisation.id, webhook_id)
    messages, total = service.deliveries(session, subscription, offset=offset, limit=limit)
    attempts: dict[str, list[AttemptOut]] = {m.id: [] for m in messages}
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.message_id.in_(list(attempts)))
        .order_by(WebhookAttempt.attempted_at)
    ):
        attempts[attempt.message_id].append(
            AttemptOut(
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
        )
    return DeliveryList(
        items=[
            WebhookDeliveryOut(
                message_id=m.id,
                event_type=m.event_type,
                status=m.status,
                created_at=m.created_at,
                next_attempt_at=m.next_attempt_at if m.status == MessageStatus.PENDING else None,
                attempts=attempts[m.id],
            )
            for m in messages
        ],
        total=total,
    )
