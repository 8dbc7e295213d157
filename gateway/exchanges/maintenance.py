"""Expiry and shredding on a timer inside ``serve``, and once on demand (``gateway
maintenance run``). Both call :meth:`Exchanges.run_maintenance`, which is idempotent."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from gateway.errors import GatewayError
from gateway.exchanges.service import Exchanges, MaintenanceReport

log = structlog.get_logger(__name__)


def run_once(sessions: sessionmaker[Session], exchanges: Exchanges) -> MaintenanceReport:
    with sessions() as session:
        report = exchanges.run_maintenance(session)
    log.info(
        "maintenance",
        consents_expired=report.consents_expired,
        exchanges_expired=report.exchanges_expired,
        payloads_shredded=report.payloads_shredded,
    )
    return report


async def run_periodically(
    sessions: sessionmaker[Any], exchanges: Exchanges, interval: int
) -> None:
    """Run maintenance now and every ``interval`` seconds until cancelled. A failed run (the
    database or the audit log unavailable) is logged and retried at the next tick."""
    while True:
        try:
            await run_in_threadpool(run_once, sessions, exchanges)
        except (GatewayError, OSError) as exc:
            log.error("maintenance_failed", error=type(exc).__name__)
        except Exception as exc:
            log.error("maintenance_failed", error=type(exc).__name__, exc_info=exc)
        await asyncio.sleep(interval)
