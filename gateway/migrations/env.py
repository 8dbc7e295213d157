"""Alembic environment: runs online against the engine passed in by gateway.migrations.

Migrations run once however many processes start at the same time (two workers in dev, or
replicas told to migrate at start): each takes the migration lock first, in the transaction
that migrates, and only then reads the schema's revision, so whoever waited finds it current.
On PostgreSQL the lock is a transaction-level advisory lock; on SQLite an exclusive transaction
(the others wait for it within the connection's busy timeout).
"""

from __future__ import annotations

from alembic import context

from gateway.models import all_metadata

# Any constant shared by every process of the deployment: "kindkoppeling migrate" as a number.
MIGRATION_LOCK = 0x6B6B_6D69_6772

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
    context.configure(
        connection=connection,
        target_metadata=list(all_metadata),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
