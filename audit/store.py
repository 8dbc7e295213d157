"""The log in the database: append within the caller's transaction, subtree hashes, proofs.

``append`` takes the next index by incrementing ``audit_head`` with ``UPDATE … RETURNING``:
on PostgreSQL the row lock serialises concurrent appenders until they commit or roll back, on
SQLite the statement takes the database's write lock; either way indices have no gaps and no
duplicates, and an entry commits exactly when the caller's action does.

Every perfect subtree's hash is stored once, when its last leaf arrives (``audit_nodes``), so a
root or a proof reads O(log n) stored hashes in one query and never rehashes the log.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.entry import Entry, canonical
from audit.note import Signer
from audit.tables import checkpoints, child_refs, cosignatures, entries, head, nodes


@dataclass(frozen=True)
class Appended:
    index: int
    leaf_hash: bytes


def append(session: Session, entry: Entry, *, now: datetime | None = None) -> Appended:
    """Add ``entry`` to the log inside the caller's transaction (no commit here)."""
    return append_batch(session, [entry], now=now)[0]


def append_batch(
    session: Session, batch: Sequence[Entry], *, now: datetime | None = None
) -> list[Appended]:
    """Add entries in order with one sequencer step: the step a batched sequencer takes."""
    if not batch:
        return []
    # Core statements on the session's connection: the same transaction, without the ORM's
    # per-statement bookkeeping (these tables have no mapped classes).
    connection = session.connection()
    size = connection.execute(
        update(head)
        .where(head.c.id == 1)
        .values(size=head.c.size + len(batch))
        .returning(head.c.size)
    ).scalar_one()
    first = size - len(batch)
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC)
    entry_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    made: dict[tuple[int, int], bytes] = {}
    appended = []
    for offset, entry in enumerate(batch):
        index = first + offset
        leaf = canonical(entry.document(index, recorded_at))
        hashed = merkle.leaf_hash(leaf)
        appended.append(Appended(index, hashed))
        entry_rows.append(
            {
                "idx": index,
                "leaf": leaf,
                "leaf_hash": hashed,
                "recorded_at": recorded_at,
                "action": entry.action,
                "outcome": entry.outcome,
                "actor_id": entry.actor.id,
                "requester_id": entry.requester_id,
                "source_id": entry.source_id,
                "child_ref": entry.child_ref,
                "purpose": entry.purpose,
                "emergency": entry.emergency,
                "trace_id": entry.trace_id,
                "on_behalf_of": entry.on_behalf_of,
            }
        )
        # Store every perfect subtree this leaf completes: one per trailing 1-bit of the index.
        level, position, current = 0, index, hashed
        made[(0, index)] = hashed
        node_rows.append({"pos": position_of(0, index), "hash": hashed})
        while position & 1:
            left = made.get((level, position - 1)) or _stored_node(connection, level, position - 1)
            current = merkle.node_hash(left, current)
            level, position = level + 1, position >> 1
            made[(level, position)] = current
            node_rows.append({"pos": position_of(level, position), "hash": current})
    connection.execute(insert(entries), entry_rows)
    connection.execute(insert(nodes), node_rows)
    return appended


def _stored_node(connection: Connection, level: int, index: int) -> bytes:
    value: bytes = connection.execute(
        select(nodes.c.hash).where(nodes.c.pos == position_of(level, index))
    ).scalar_one()
    return value


def tree_size(session: Session) -> int:
    size: int = session.execute(select(head.c.size).where(head.c.id == 1)).scalar_one()
    return size


def _prefetched(session: Session, run: Callable[[merkle.SubtreeHash], Any]) -> Any:
    """Run a proof algorithm twice: once to learn which perfect subtrees it needs, then with
    those hashes fetched in a single query."""
    wanted: set[tuple[int, int]] = set()

    def plan(start: int, end: int) -> bytes:
        wanted.update(merkle.perfect_subtrees(start, end))
        return bytes(merkle.HASH_SIZE)

    run(plan)
    found = fetch_nodes(session, wanted)
    if wanted - found.keys():
        # Every proof of a tree larger than the log needs a subtree that does not exist yet:
        # this is the size check, without a query of its own.
        raise ValueError("the log has no tree of that size")

    return run(merkle.from_perfect(lambda level, index: found[(level, index)]))


def position_of(level: int, index: int) -> int:
    """In-order position of the perfect subtree at (level, index): a single integer key."""
    return (index << (level + 1)) + (1 << level) - 1


def fetch_nodes(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes by (level, index): one primary-key lookup each, in one query whose shape
    (an expanding IN list) is compiled once and cached."""
    if not keys:
        return {}
    by_position = {position_of(level, index): (level, index) for level, index in keys}
    rows = session.execute(_NODES_BY_POSITION, {"positions": sorted(by_position)})
    return {by_position[int(row.pos)]: bytes(row.hash) for row in rows}


_NODES_BY_POSITION = select(nodes.c.pos, nodes.c.hash).where(
    nodes.c.pos.in_(bindparam("positions", expanding=True))
)


def root(session: Session, size: int) -> bytes:
    if size < 0:
        raise ValueError("a tree size is not negative")
    if size == 0:
        return merkle.EMPTY_ROOT
    result: bytes = _prefetched(session, lambda subtree: subtree(0, size))
    return result


def leaf_hash(session: Session, index: int) -> bytes:
    value: bytes = session.execute(
        select(nodes.c.hash).where(nodes.c.pos == position_of(0, index))
    ).scalar_one()
    return value


def leaves(session: Session, indices: Sequence[int]) -> dict[int, tuple[bytes, bytes]]:
    """Entries by index: (leaf bytes, the leaf's hash as the Merkle tree holds it). A leaf that
    does not hash to the tree's value was changed after it was appended."""
    if not indices:
        return {}
    rows = session.execute(
        select(entries.c.idx, entries.c.leaf, nodes.c.hash)
        .join(nodes, nodes.c.pos == entries.c.idx * 2)
        .where(entries.c.idx.in_(sorted(set(indices))))
    ).all()
    return {row[0]: (bytes(row[1]), bytes(row[2])) for row in rows}


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    path: list[bytes] = _prefetched(
        session, lambda subtree: merkle.inclusion_path(index, size, subtree)
    )
    return path


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    proof: list[bytes] = _prefetched(
        session, lambda subtree: merkle.consistency_proof(first, second, subtree)
    )
    return proof


def publish_checkpoint(session: Session, signer: Signer, origin: str) -> str:
    """Sign and store a checkpoint of the current tree, unless one for this size exists."""
    size = tree_size(session)
    existing = session.execute(
        select(checkpoints.c.note).where(checkpoints.c.tree_size == size)
    ).scalar_one_or_none()
    if existing is not None:
        return str(existing)
    root_hash = root(session, size)
    note = Checkpoint(origin, size, root_hash).sign(signer)
    session.execute(
        insert(checkpoints).values(
            tree_size=size, root_hash=root_hash, note=note, created_at=datetime.now(UTC)
        )
    )
    return note


def checkpoint_note(session: Session, tree_size: int) -> str | None:
    note = session.execute(
        select(checkpoints.c.note).where(checkpoints.c.tree_size == tree_size)
    ).scalar_one_or_none()
    return None if note is None else str(note)


def add_cosignature(
    session: Session, tree_size: int, witness: str, line: str, at: datetime
) -> None:
    """Keep a witness's cosignature line of the checkpoint of ``tree_size`` (once)."""
    exists = session.execute(
        select(cosignatures.c.tree_size).where(
            cosignatures.c.tree_size == tree_size, cosignatures.c.witness == witness
        )
    ).first()
    if exists is None:
        session.execute(
            insert(cosignatures).values(
                tree_size=tree_size, witness=witness, line=line, cosigned_at=at
            )
        )


def cosignature_lines(session: Session, tree_size: int, witnesses: Sequence[str]) -> list[str]:
    """The kept cosignature lines of one checkpoint by the given witnesses (vkeys)."""
    return [
        str(line)
        for line in session.execute(
            select(cosignatures.c.line)
            .where(cosignatures.c.tree_size == tree_size, cosignatures.c.witness.in_(witnesses))
            .order_by(cosignatures.c.witness)
        ).scalars()
    ]


def latest_cosigned_size(session: Session, witnesses: Sequence[str], quorum: int) -> int | None:
    """The largest checkpoint size at least ``quorum`` of ``witnesses`` have cosigned."""
    size = session.execute(
        select(cosignatures.c.tree_size)
        .where(cosignatures.c.witness.in_(witnesses))
        .group_by(cosignatures.c.tree_size)
        .having(func.count() >= quorum)
        .order_by(cosignatures.c.tree_size.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if size is None else int(size)


def latest_checkpoint(session: Session) -> str | None:
    note = session.execute(
        select(checkpoints.c.note).order_by(checkpoints.c.tree_size.desc()).limit(1)
    ).scalar_one_or_none()
    return None if note is None else str(note)


def latest_checkpoint_time(session: Session) -> tuple[int, datetime] | None:
    """Tree size and signing time of the latest checkpoint, or None before the first."""
    row = session.execute(
        select(checkpoints.c.tree_size, checkpoints.c.created_at)
        .order_by(checkpoints.c.tree_size.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else (int(row[0]), as_utc(row[1]))


def checkpoint_time(session: Session, tree_size: int) -> datetime | None:
    created: datetime | None = session.execute(
        select(checkpoints.c.created_at).where(checkpoints.c.tree_size == tree_size)
    ).scalar_one_or_none()
    return None if created is None else as_utc(created)


def as_utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite returns them without their zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def all_checkpoints(session: Session) -> list[str]:
    return [
        str(n)
        for n in session.execute(
            select(checkpoints.c.note).order_by(checkpoints.c.tree_size)
        ).scalars()
    ]


def iter_leaves(session: Session, batch: int = 10_000) -> Iterator[tuple[int, bytes, bytes]]:
    """Every (index, leaf bytes, stored leaf hash) in index order, read in batches. Rows go out
    as the driver gives them (both drivers return ``bytes`` for blobs): a full verification
    reads a million of them, and a per-row conversion was a third of its time."""
    after = -1
    while True:
        rows = session.execute(
            select(entries.c.idx, entries.c.leaf, entries.c.leaf_hash)
            .where(entries.c.idx > after)
            .order_by(entries.c.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from cast("list[tuple[int, bytes, bytes]]", rows)  # a Row unpacks as a tuple
        after = rows[-1][0]


@dataclass(frozen=True)
class EntryFilter:
    visible_to: str | None = None  # an organisation id: actor, requester or source; None = all
    involving: str | None = None  # the same test for a second organisation (a search filter)
    actor_id: str | None = None
    child_ref: str | None = None
    purpose: str | None = None
    action: str | None = None
    outcome: str | None = None
    trace_id: str | None = None
    # (organisation id, staff id): the calls an organisation made on behalf of a staff member
    acting_for: tuple[str, str] | None = None
    since: datetime | None = None
    until: datetime | None = None


def find_entries(
    session: Session, where: EntryFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[Row[Any]], int]:
    conditions = [
        or_(
            entries.c.actor_id == organisation,
            entries.c.requester_id == organisation,
            entries.c.source_id == organisation,
        )
        for organisation in (where.visible_to, where.involving)
        if organisation is not None
    ]
    for column, value in (
        (entries.c.actor_id, where.actor_id),
        (entries.c.child_ref, where.child_ref),
        (entries.c.purpose, where.purpose),
        (entries.c.action, where.action),
        (entries.c.outcome, where.outcome),
        (entries.c.trace_id, where.trace_id),
        (entries.c.actor_id, where.acting_for[0] if where.acting_for else None),
        (entries.c.on_behalf_of, where.acting_for[1] if where.acting_for else None),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.since is not None:
        conditions.append(entries.c.recorded_at >= where.since)
    if where.until is not None:
        conditions.append(entries.c.recorded_at < where.until)
    condition = and_(*conditions) if conditions else None
    query = select(entries.c.idx, entries.c.leaf, entries.c.leaf_hash).order_by(entries.c.idx)
    count_query = select(func.count()).select_from(entries)
    if condition is not None:
        query = query.where(condition)
        count_query = count_query.where(condition)
    rows = session.execute(query.offset(offset).limit(limit)).all()
    total = int(session.execute(count_query).scalar_one())
    return list(rows), total  # type: ignore[arg-type]


def find_child_reference(session: Session, pseudonym: str) -> str | None:
    """The random reference audit entries use for this child, if the log has named it."""
    # The table is written by Core statements only, at once, so nothing the ORM holds back
    # concerns it: no autoflush (which would write the caller's pending rows in a flush of
    # their own, ahead of the one at commit).
    with session.no_autoflush:
        existing = session.execute(
            select(child_refs.c.ref).where(child_refs.c.pseudonym == pseudonym)
        ).scalar_one_or_none()
    return None if existing is None else str(existing)


def child_reference(session: Session, pseudonym: str) -> str:
    """The random reference audit entries use for this child, created on first use."""
    existing = find_child_reference(session, pseudonym)
    if existing is not None:
        return existing
    ref = secrets.token_hex(16)
    session.execute(insert(child_refs).values(pseudonym=pseudonym, ref=ref))
    return ref


def erase_child(session: Session, pseudonym: str) -> bool:
    """Forget which child a reference names; the log itself is untouched and still verifies."""
    result = session.execute(delete(child_refs).where(child_refs.c.pseudonym == pseudonym))
    return bool(getattr(result, "rowcount", 0))
