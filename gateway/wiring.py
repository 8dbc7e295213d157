"""What every session of the gateway must have before it commits: the handlers that write the
webhook outbox and the e-mail notices together with the action that causes them
(:mod:`gateway.transactions`).

The entry points (the app, the CLI) register them; the storage layer (:mod:`gateway.db`) knows
nothing of the domains above it, and only refuses to make sessions before they are registered,
so a new entry point cannot forget them and silently lose webhooks or notices.
"""

from __future__ import annotations

import importlib

HANDLER_MODULES = (
    "gateway.notifications.service",
    "gateway.webhooks.events",
    "gateway.organisations.registry",  # clears the copies of the registry a commit changed
)


def register_commit_handlers() -> None:
    """Import the modules whose ``@on_commit`` handlers follow every commit (idempotent)."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
