"""The FastAPI application: routers, middleware and error handlers, wired from Settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway import migrations
from gateway.api_document import completed
from gateway.auditing.api import router as audit_router
from gateway.auditing.tiles_api import router as audit_tiles_router
from gateway.auth.access_tokens import AccessTokens
from gateway.auth.api import router as oauth_router
from gateway.auth.revocation import from_settings as revocation_from_settings
from gateway.auth.revocation import refresh_periodically as refresh_revocation
from gateway.children.api import router as children_router
from gateway.consent.api import router as consents_router
from gateway.db import make_engine, make_sessionmaker
from gateway.errors import API_ERRORS, install_error_handlers, problem_responses
from gateway.exchanges.api import router as exchanges_router
from gateway.exchanges.maintenance import run_periodically
from gateway.exchanges.payload_schemas import PayloadSchemas, default_schema_dir
from gateway.exchanges.work import Exchanges
from gateway.health import router as health_router
from gateway.keys import load_keys
from gateway.logs import configure_logging
from gateway.metrics.api import router as metrics_router
from gateway.middleware import (
    BodySizeLimitMiddleware,
    DeprecatedQueryKeysMiddleware,
    HeadAsGetMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from gateway.notifications.sending import Mailer, SmtpServer
from gateway.one_hop import install_caller_first
from gateway.organisations.api import router as organisations_router
from gateway.organisations.certificates import self_signed_pems
from gateway.organisations.registry import Listener, registry_of
from gateway.outbox import run_periodically as run_outbox_periodically
from gateway.policy.api import router as policy_router
from gateway.policy.service import make_decider
from gateway.portal.setup import HTML_PREFIXES, STATIC_PATH, install_portal
from gateway.rate_limits import RateLimits
from gateway.settings import Settings
from gateway.signals.api import router as signals_router
from gateway.signals.service import Signals
from gateway.staff.api import router as staff_router
from gateway.statistics.api import router as statistics_router
from gateway.tls import refresh_periodically, trust
from gateway.webhooks.api import router as webhooks_router
from gateway.webhooks.delivery import Deliverer
from gateway.wiring import register_commit_handlers

API_PREFIX = "/api/v1"


def outbox_workers(app: FastAPI, settings: Settings) -> list[Callable[[], int]]:
    """The outbox rounds serve runs: webhooks always, e-mail notices with an SMTP server."""
    if not settings.outbox_interval:
        return []
    keyring = app.state.exchanges.keyring
    workers = [Deliverer(app.state.sessions, keyring, allow_internal=settings.is_dev).run_once]
    if settings.smtp_url is not None:
        mailer = Mailer(
            app.state.sessions,
            keyring,
            SmtpServer(settings.smtp_url.get_secret_value()),
            settings.mail_from,
            f"{settings.public_url}/portaal",
        )
        workers.append(mailer.run_once)
    return workers


def registered_self_signed(sessions: Callable[[], Session]) -> list[str]:
    with sessions() as session:
        return self_signed_pems(session)


def contact(settings: Settings) -> dict[str, str]:
    """``info.contact`` of the OpenAPI document: who runs this gateway, where to write."""
    return {
        "name": settings.api_contact_name,
        "url": settings.public_url,
        "email": settings.api_contact_email,
    }


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    keys = load_keys(settings)  # refuses to start in production without them
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    registry = registry_of(engine)
    registry.lifetime = settings.registry_cache_seconds

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrates_at_start:
            await run_in_threadpool(migrations.upgrade, engine)
        maintenance = None
        if settings.maintenance_interval:
            maintenance = asyncio.create_task(
                run_periodically(
                    app.state.sessions,
                    app.state.signals,
                    app.state.audit_signer,
                    settings.maintenance_interval,
                    app.state.audit_witnesses,
                )
            )
        workers = [
            asyncio.create_task(run_outbox_periodically(work, settings.outbox_interval))
            for work in outbox_workers(app, settings)
        ]
        if settings.tls_client_ca_file is not None:  # PKI client certificates: revocation
            workers.append(asyncio.create_task(refresh_revocation(app.state.revocation)))
        listener = None
        if engine.dialect.name == "postgresql" and registry.lifetime > 0:
            listener = Listener(engine, registry)  # other replicas' changes to the registry
            listener.start_serving()
        if trust.serving:  # this process terminates mutual TLS (gateway serve with TLS)
            workers.append(
                asyncio.create_task(
                    refresh_periodically(
                        settings.tls_trust_refresh,
                        partial(registered_self_signed, app.state.sessions),
                    )
                )
            )
        yield
        for worker in workers:
            worker.cancel()
            with suppress(asyncio.CancelledError):
                await worker
        if maintenance is not None:
            maintenance.cancel()
            with suppress(asyncio.CancelledError):
                await maintenance
        if listener is not None:
            await run_in_threadpool(listener.stop)
        app.state.rate_limits.close()
        engine.dispose()

    app = FastAPI(
        title="kindkoppeling",
        summary="Consent-mediated data exchange for Dutch children's services",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        contact=contact(settings),
    )
    app.openapi = completed(  # type: ignore[method-assign]
        app.openapi, public_url=settings.public_url, prefix=API_PREFIX, version=app.version
    )
    app.state.settings = settings
    app.state.engine = engine
    register_commit_handlers()
    app.state.sessions = make_sessionmaker(engine)
    app.state.revocation = revocation_from_settings(settings)
    app.state.access_tokens = AccessTokens(
        settings, keys.token_signing_key, keys.token_retired_keys
    )
    app.state.policy = make_decider(settings)
    app.state.audit_signer = keys.checkpoint_signer(settings.checkpoint_origin)
    app.state.audit_witnesses = settings.witnesses
    app.state.pseudonym_key = keys.pseudonymisation_key
    app.state.rate_limits = RateLimits(settings.rate_limit, settings.token_rate_limit, engine)
    app.state.exchanges = Exchanges(
        app.state.policy, keys.payload_master_keys, PayloadSchemas.load(default_schema_dir())
    )
    app.state.signals = Signals(app.state.exchanges)

    # Each domain's router hangs directly under the app: FastAPI matches an included router's
    # routes again at every level of nesting, so one level less halves the route matching of an
    # API request (80 path matches to 42 for /api/v1/exchanges). The OpenAPI is the same.
    for domain in (
        staff_router,
        organisations_router,
        policy_router,
        audit_router,
        audit_tiles_router,
        children_router,
        exchanges_router,
        consents_router,
        signals_router,
        statistics_router,
        webhooks_router,
    ):
        app.include_router(domain, prefix=API_PREFIX, responses=problem_responses(*API_ERRORS))
    app.include_router(oauth_router)
    app.include_router(health_router)
    app.include_router(metrics_router)

    install_portal(app, settings, keys.session_secret)
    install_error_handlers(app)
    install_caller_first(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        SecurityHeadersMiddleware,
        page_prefixes=HTML_PREFIXES,
        static_prefix=STATIC_PATH,
        hsts_max_age=settings.hsts_max_age if settings.secure_cookies else None,
        login_origin=settings.login_origin,
    )
    app.add_middleware(DeprecatedQueryKeysMiddleware, prefix=f"{API_PREFIX}/")
    app.add_middleware(RequestContextMiddleware, api_version=app.version)
    return app
