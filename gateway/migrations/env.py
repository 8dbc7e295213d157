"""Alembic environment: runs online against the engine passed in by gateway.migrations."""

from __future__ import annotations

from alembic import context

from gateway.models import all_metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=list(all_metadata),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
