"""Audit appends per second against a raw INSERT of the same bytes, in the same run.

Subject: ``audit.store.append`` with a commit per entry, as an action commits with its entry
(sequencer update, leaf insert, completed subtree hashes). Floor: inserting the same leaf bytes
into a plain table with a commit per row, on the same SQLite file. Target: at least 0.5x.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, insert
from sqlalchemy.orm import Session

from audit import store
from audit.entry import Actor, Entry, canonical
from gateway import migrations
from gateway.db import make_engine

TARGET = 0.5
COUNT = 2000


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrations.upgrade(engine)
        raw = Table(
            "raw_leaves",
            MetaData(),
            Column("id", Integer, primary_key=True),
            Column("leaf", LargeBinary),
        )
        raw.create(engine)
        entries = [
            Entry(
                action="admin.organisation.register",
                actor=Actor("system", "bench"),
                outcome="success",
                subject=f"org-{n}",
            )
            for n in range(COUNT)
        ]
        leaves = [canonical(e.document(n, datetime.now(UTC))) for n, e in enumerate(entries)]

        with Session(engine) as session:
            started = time.perf_counter()
            for leaf in leaves:
                session.execute(insert(raw).values(leaf=leaf))
                session.commit()
            floor = COUNT / (time.perf_counter() - started)

            started = time.perf_counter()
            for entry in entries:
                store.append(session, entry)
                session.commit()
            subject = COUNT / (time.perf_counter() - started)
        engine.dispose()

    ratio = subject / floor
    print(f"raw INSERT + commit:    {floor:8.0f} rows/s")
    print(f"audit append + commit:  {subject:8.0f} entries/s")
    print(f"ratio: {ratio:.2f} (target >= {TARGET})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
