"""The audit log's tables, on a MetaData of its own (``audit`` never imports ``gateway``).

``audit_entries``, ``audit_nodes`` and ``audit_checkpoints`` are append-only: database
triggers refuse UPDATE and DELETE (see ``immutability_ddl``). ``audit_head`` is the sequencer's
counter. ``audit_cosignatures`` keeps the witnesses' cosignatures of checkpoints (append-only
too); ``audit_witness_state`` what the log last heard from each witness. ``audit_child_refs``
links a child's pseudonym to the random reference entries use; deleting a row erases the child
from the log's point of view without touching the log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)

entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("requester_id", String(64)),
    Column("source_id", String(64)),
    Column("child_ref", String(64)),
    Column("purpose", String(64)),
    Column("emergency", Boolean, nullable=False),
    Column("trace_id", String(32)),
    Column("on_behalf_of", String(64)),
    Index("ix_audit_entries_actor_id", "actor_id"),
    Index("ix_audit_entries_child_ref", "child_ref"),
    Index("ix_audit_entries_recorded_at", "recorded_at"),
    Index("ix_audit_entries_trace_id", "trace_id"),
    Index("ix_audit_entries_on_behalf_of", "on_behalf_of"),
)

nodes = Table(
    "audit_nodes",
    metadata,
    # In-order position of the perfect subtree (level l, index i): (i << (l + 1)) + (1 << l) - 1.
    # One integer key, so a proof's O(log n) hashes are O(log n) primary-key lookups.
    Column("pos", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

cosignatures = Table(
    "audit_cosignatures",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(300), primary_key=True),  # the witness's verifier key (vkey)
    Column("line", Text, nullable=False),  # the cosignature as a signed-note signature line
    Column("cosigned_at", DateTime(timezone=True), nullable=False),  # its timestamp
)

# What the log knows of each witness: the size it last cosigned, and how the last submission
# went. Not evidence (that is the cosignatures); it changes with every submission.
witness_state = Table(
    "audit_witness_state",
    metadata,
    Column("witness", String(300), primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)

child_refs = Table(
    "audit_child_refs",
    metadata,
    Column("pseudonym", String(128), primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
)

APPEND_ONLY = ("audit_entries", "audit_nodes", "audit_checkpoints", "audit_cosignatures")


def immutability_ddl(dialect: str, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    """Triggers that refuse UPDATE and DELETE on the append-only tables."""
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(
            "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME; "
            "END; $$ LANGUAGE plpgsql"
        )
        for table in tables:
            statements.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
    else:
        for table in tables:
            for operation in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
    return statements


def drop_immutability_ddl(dialect: str, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    if dialect == "postgresql":
        drops = [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in tables]
        return [*drops, "DROP FUNCTION IF EXISTS audit_refuse_change()"]
    return [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in tables for op in ("update", "delete")]
