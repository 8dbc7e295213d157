"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway import migrations
from gateway.errors import ServiceUnavailableError, problem_responses

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database answers, its schema is current, and the policy engine answers",
    responses=problem_responses(503),
)
def ready(request: Request) -> dict[str, str]:
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        up_to_date = migrations.is_up_to_date(engine)
    except SQLAlchemyError as exc:
        raise ServiceUnavailableError("The database does not answer.", check="database") from exc
    if not up_to_date:
        raise ServiceUnavailableError(
            "Database migrations are pending; run gateway db upgrade.", check="migrations"
        )
    if not request.app.state.policy.engine.ready():
        raise ServiceUnavailableError("The policy engine does not answer.", check="policy")
    return {"status": "ok", "database": "ok", "migrations": "ok", "policy": "ok"}
