"""A restore from a backup, for the tests that show what the log's guards make of one."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from audit.tables import head
from audit.tables import metadata as audit_metadata
from gateway.db import make_engine
from gateway.models import metadata


def copy_database(source: Engine, target_url: str) -> None:
    """A restore: every row of every table, as a backup taken now would bring back."""
    target = make_engine(target_url)
    tables = [*metadata.sorted_tables, *audit_metadata.sorted_tables]
    with source.connect() as reading, target.begin() as writing:
        writing.execute(delete(head))
        for table in tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(insert(table), rows)
    target.dispose()
