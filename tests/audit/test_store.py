"""The stored log on SQLite and PostgreSQL: append, proofs, immutability, tamper, erasure."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from audit import merkle, store
from audit.entry import Actor, Entry, canonical
from audit.note import Signer
from audit.tables import drop_immutability_ddl, immutability_ddl
from audit.verify import verify_log

SYSTEM = Actor("system", "test")
SIGNER = Signer("test.example/audit", Ed25519PrivateKey.generate())


def entry(n: int, **changes: object) -> Entry:
    base = Entry(action="test.append", actor=SYSTEM, outcome="success", extra={"n": str(n)})
    return Entry(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def fill(session: Session, count: int) -> None:
    for n in range(count):
        store.append(session, entry(n))
    session.commit()


def verify(session: Session) -> object:
    return verify_log(store.iter_leaves(session), store.all_checkpoints(session), SIGNER.verifier)


def test_appends_get_consecutive_indices_and_leaves_name_them(session: Session) -> None:
    appended = [store.append(session, entry(n)) for n in range(5)]
    session.commit()

    assert [a.index for a in appended] == [0, 1, 2, 3, 4]
    assert store.tree_size(session) == 5
    assert all(b'"index":%d' % i in leaf for i, leaf, _ in store.iter_leaves(session))


def test_stored_roots_and_proofs_equal_the_pure_computation(session: Session) -> None:
    fill(session, 37)
    leaves = [merkle.leaf_hash(leaf) for _, leaf, _ in store.iter_leaves(session)]
    pure = merkle.subtree_from_list(leaves)

    for size in (1, 2, 3, 8, 13, 32, 37):
        assert store.root(session, size) == merkle.root(leaves[:size])
        for index in {0, size // 2, size - 1}:
            assert store.inclusion_proof(session, index, size) == merkle.inclusion_path(
                index, size, pure
            )
        for first in {1, size // 3 or 1, size}:
            assert store.consistency_proof(session, first, size) == merkle.consistency_proof(
                first, size, pure
            )


def test_an_action_rolled_back_leaves_no_entry(session: Session) -> None:
    fill(session, 2)
    store.append(session, entry(99))
    session.rollback()

    assert store.tree_size(session) == 2
    assert verify(session).ok  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'tampered'",
        "DELETE FROM audit_entries",
        "UPDATE audit_nodes SET hash = hash",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_triggers_refuse_changes(session: Session, statement: str) -> None:
    fill(session, 3)
    store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()

    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert verify(session).ok  # type: ignore[attr-defined]


def _bypass_triggers(engine: Engine, statement: str, **params: object) -> None:
    """What an attacker with database access could do: lift the triggers, change, restore."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for ddl in drop_immutability_ddl(dialect):
            connection.execute(text(ddl))
        connection.execute(text(statement), params)
        for ddl in immutability_ddl(dialect):
            connection.execute(text(ddl))


@pytest.mark.parametrize(
    ("statement", "first_bad"),
    [
        # a leaf rewritten, with its stored hash too: only the checkpoint can tell
        ("UPDATE audit_entries SET leaf = :leaf, leaf_hash = :hash WHERE idx = 4", 7),
        # a leaf rewritten but not its stored hash
        ("UPDATE audit_entries SET leaf = :leaf WHERE idx = 4", 4),
        # an entry dropped
        ("DELETE FROM audit_entries WHERE idx = 5", 5),
    ],
)
def test_tampering_around_the_triggers_is_caught(
    session: Session, engine: Engine, statement: str, first_bad: int
) -> None:
    fill(session, 8)
    store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()
    forged = entry(4, outcome="forged").document(
        4, __import__("datetime").datetime.now(__import__("datetime").UTC)
    )

    leaf = canonical(forged)
    _bypass_triggers(engine, statement, leaf=leaf, hash=merkle.leaf_hash(leaf))

    report = verify(session)

    assert not report.ok  # type: ignore[attr-defined]
    assert report.first_bad_index is not None  # type: ignore[attr-defined]
    assert report.first_bad_index <= first_bad  # type: ignore[attr-defined]


def test_reordered_leaves_are_caught(session: Session, engine: Engine) -> None:
    fill(session, 4)
    store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()
    leaves = {i: leaf for i, leaf, _ in store.iter_leaves(session)}
    session.rollback()  # end the read: dropping a trigger waits for every open transaction
    _bypass_triggers(engine, "UPDATE audit_entries SET leaf = :leaf WHERE idx = 1", leaf=leaves[2])

    report = verify(session)

    assert not report.ok  # type: ignore[attr-defined]
    assert report.first_bad_index == 1  # type: ignore[attr-defined]


def test_checkpoints_are_stored_once_per_size(session: Session) -> None:
    fill(session, 3)
    first = store.publish_checkpoint(session, SIGNER, SIGNER.name)
    again = store.publish_checkpoint(session, SIGNER, SIGNER.name)
    fill(session, 2)
    later = store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()

    assert first == again
    assert store.all_checkpoints(session) == [first, later]
    assert verify(session).checkpoints == 2  # type: ignore[attr-defined]


def test_erasing_a_child_keeps_the_log_verifiable(session: Session) -> None:
    ref = store.child_reference(session, "pseudonym-of-a-child")
    store.append(session, entry(0, child_ref=ref, purpose="warme-overdracht"))
    store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()

    assert store.erase_child(session, "pseudonym-of-a-child")
    session.commit()

    assert store.child_reference(session, "pseudonym-of-a-child") != ref
    assert verify(session).ok  # type: ignore[attr-defined]


def test_entries_hold_field_names_never_values() -> None:
    with pytest.raises(ValueError, match="field names only"):
        entry(0, fields=("development_summary", "Jan de Vries, 12-03-2019"))


def test_concurrent_writers_leave_no_gaps_and_no_duplicates(engine: Engine) -> None:
    writers, per_writer = 8, 15
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with Session(engine) as own:
                for n in range(per_writer):
                    store.append(own, entry(worker * 100 + n))
                    own.commit()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Session(engine) as session:
        indices = [i for i, _, _ in store.iter_leaves(session)]
        assert indices == list(range(writers * per_writer))
        assert store.tree_size(session) == writers * per_writer
        assert verify(session).ok  # type: ignore[attr-defined]


def test_a_batch_is_the_same_log_as_single_appends(session: Session, engine: Engine) -> None:
    store.append(session, entry(0))
    batch = store.append_batch(session, [entry(n) for n in range(1, 12)])
    store.append(session, entry(12))
    session.commit()

    assert [a.index for a in batch] == list(range(1, 12))
    leaves = [merkle.leaf_hash(leaf) for _, leaf, _ in store.iter_leaves(session)]
    assert len(leaves) == 13
    for size in range(1, 14):
        assert store.root(session, size) == merkle.root(leaves[:size])
    assert verify(session).ok  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "ask",
    [
        lambda s: store.root(s, 6),
        lambda s: store.inclusion_proof(s, 0, 6),
        lambda s: store.inclusion_proof(s, 5, 5),
        lambda s: store.consistency_proof(s, 2, 9),
        lambda s: store.consistency_proof(s, 4, 3),
    ],
)
def test_proofs_of_trees_the_log_does_not_have_are_refused(session: Session, ask: object) -> None:
    fill(session, 5)

    with pytest.raises(ValueError):
        ask(session)  # type: ignore[operator]
