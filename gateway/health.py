"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway import migrations
from gateway.auditing import witnessing
from gateway.errors import ServiceUnavailableError, problem_responses

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database answers, its schema is current, the policy engine answers, and no "
    "witness has refused the audit log",
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
    return {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "policy": "ok",
        "witnesses": _witnesses(request),
        "revocation": _revocation(request),
    }


def _revocation(request: Request) -> str:
    """ "ok", "none configured" (no client CA bundle), or the client CAs whose CRL is stale,
    and what happens to their certificates. Not a 503: every other client still works."""
    settings = request.app.state.settings
    if settings.tls_client_ca_file is None:
        return "none configured"
    revocation = request.app.state.revocation
    stale = revocation.stale()
    if not stale:
        return "ok"
    outcome = "refused" if revocation.fails_closed else "let through (soft fail)"
    return f"stale CRL of {'; '.join(stale)}: their certificates are {outcome}"


def _witnesses(request: Request) -> str:
    """ "ok", "none configured", or the latest checkpoint still waiting for the quorum; 503
    when a witness has seen another history of the log or a larger one (a fork or a rollback):
    the log's history is in doubt until the operator has resolved it."""
    witnesses = request.app.state.audit_witnesses
    if not witnesses.configured:
        return "none configured"
    with request.app.state.sessions() as session:
        found = witnessing.standing(session, witnesses)
    if found.alarms:
        raise ServiceUnavailableError(
            "A witness refused the audit log's checkpoint: "
            + "; ".join(f"{s.outcome}: {s.detail}" for s in found.alarms),
            check="witnesses",
        )
    if found.waiting:
        since = found.signed_at.isoformat() if found.signed_at else "?"
        return (
            f"waiting: the checkpoint of size {found.signed_size} (signed {since}) has fewer "
            f"than {found.quorum} cosignatures; the latest cosigned has size "
            f"{found.cosigned_size if found.cosigned_size is not None else 'none'}"
        )
    return "ok"
