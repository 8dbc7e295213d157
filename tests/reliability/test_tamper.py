"""Tampering by someone with write access to the database, around the append-only triggers:
change, delete or swap *any* stored entry, or edit a stored checkpoint, and verification
fails, naming a bad index at or before the one touched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from audit import merkle, store
from audit.entry import canonical
from tests.audit.test_store import SIGNER, _bypass_triggers, entry, fill, verify
from tests.conftest import empty_all_tables
from tests.tally import TALLY

SIZE = 6


def forged_leaf(index: int) -> bytes:
    return canonical(entry(index, outcome="forged").document(index, datetime.now(UTC)))


def tampering(
    kind: str, index: int, leaves: dict[int, bytes]
) -> list[tuple[str, dict[str, object]]]:
    """The statements of one tampering of entry ``index``, with their parameters."""
    rewrite = "UPDATE audit_entries SET leaf = :leaf, leaf_hash = :hash WHERE idx = :at"
    forged = forged_leaf(index)
    if kind == "change":  # the leaf only: its stored hash no longer matches
        return [("UPDATE audit_entries SET leaf = :leaf WHERE idx = :at", {"leaf": forged})]
    if kind == "change with hash":  # consistent row: only the signed checkpoint can tell
        return [(rewrite, {"leaf": forged, "hash": merkle.leaf_hash(forged)})]
    if kind == "delete":
        return [("DELETE FROM audit_entries WHERE idx = :at", {})]
    first, second = leaves[index], leaves[index + 1]  # swap with the next one
    return [
        (rewrite, {"leaf": second, "hash": merkle.leaf_hash(second)}),
        (rewrite, {"leaf": first, "hash": merkle.leaf_hash(first), "at": index + 1}),
    ]


@pytest.mark.parametrize("kind", ["change", "change with hash", "delete", "swap"])
def test_any_tampered_entry_is_detected(session: Session, engine: Engine, kind: str) -> None:
    for index in range(SIZE - (1 if kind == "swap" else 0)):
        session.rollback()
        empty_all_tables(engine)
        fill(session, SIZE)
        store.publish_checkpoint(session, SIGNER, SIGNER.name)
        session.commit()
        leaves = {i: leaf for i, leaf, _ in store.iter_leaves(session)}
        session.rollback()  # dropping a trigger waits for every open transaction
        assert verify(session).ok  # type: ignore[attr-defined]
        session.rollback()
        statements = tampering(kind, index, leaves)
        for statement, params in statements:
            _bypass_triggers(engine, statement, **{"at": index, **params})

        report = verify(session)

        assert not report.ok, (kind, index)  # type: ignore[attr-defined]
        assert report.first_bad_index is not None  # type: ignore[attr-defined]
        TALLY["tampers_detected"] += 1


def test_an_edited_checkpoint_is_detected(session: Session, engine: Engine) -> None:
    fill(session, SIZE)
    note = store.publish_checkpoint(session, SIGNER, SIGNER.name)
    session.commit()
    session.rollback()
    edited = note.replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n")
    assert edited != note
    _bypass_triggers(engine, "UPDATE audit_checkpoints SET note = :note", note=edited)

    report = verify(session)

    assert not report.ok  # type: ignore[attr-defined]
    assert any("checkpoint" in fault for fault in report.faults)  # type: ignore[attr-defined]
    TALLY["tampers_detected"] += 1
