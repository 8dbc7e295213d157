"""Structured JSON logs on stdout, for the gateway and for the libraries under it.

Log events carry names and identifiers of organisations and requests, never request bodies,
tokens, keys or BSNs: callers log *what happened*, not *what was sent*. Uvicorn's own access
log is switched off because it prints raw URLs; :mod:`gateway.middleware` logs the route
template instead.
"""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO") -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop below-level events before any formatting
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Chatty at INFO: alembic on every readiness check, HTTP clients on every call. Authlib
    # logs issued tokens and codes at DEBUG: never below INFO, whatever the level asked.
    for name in ("alembic", "httpx", "httpx2", "httpcore", "authlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
