"""Exports with proofs, in the offline verifier's format (:mod:`audit.export`).

The gateway's officer gets the whole log: every entry and every checkpoint, which
``python -m audit verify`` rebuilds end to end. An organisation's officer gets only the entries
that name their organisation, so the tree cannot be rebuilt from them: each entry carries its
inclusion proof in one checkpoint, the latest a quorum of witnesses cosigned when witnesses are
configured (entries appended after it wait for the next export), and the witnesses' keys come
along so the officer can demand their quorum (``--witness … --quorum K``). The proofs are
computed from the tiles of that checkpoint's tree, each read once, as a mirror computes them
(``audit.tiles.TiledTree``), rather than one stored-node query per entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from audit import store
from audit.checkpoint import Checkpoint
from audit.cosignature import with_cosignatures
from audit.export import (
    CHECKPOINTS,
    ENTRIES,
    SEPARATOR,
    VERIFIER_KEY,
    WITNESS_KEYS,
    entry_line,
    verifier_key_lines,
)
from audit.note import Signer, split_note
from audit.tiles import TiledTree, stored
from gateway.auditing import witnessing
from gateway.auditing.service import checkpoint
from gateway.auditing.witnessing import Witnesses


def whole_log(
    session: Session, signer: Signer, witnesses: Witnesses, items: list[dict[str, Any]]
) -> dict[str, str]:
    """Every entry (``items``: all of them, in order, read after the latest checkpoint was
    signed) and every checkpoint, each with the cosignatures kept for it."""
    notes = [
        with_cosignatures(note, store.cosignature_lines(session, size, witnesses.keys))
        for note, size in _with_sizes(store.all_checkpoints(session))
    ]
    return {
        ENTRIES: "".join(entry_line(i["index"], i["leaf"], i["leaf_hash"]) for i in items),
        CHECKPOINTS: SEPARATOR.join(notes),
        VERIFIER_KEY: verifier_key_lines(signer.verifiers),
        WITNESS_KEYS: "".join(f"{key}\n" for key in witnesses.keys),
    }


def selection(
    session: Session, signer: Signer, witnesses: Witnesses, items: list[dict[str, Any]]
) -> dict[str, str]:
    """Some entries (``items``, in index order), each with its inclusion proof in one
    checkpoint: signed now, and cosigned if the witnesses answer."""
    note = checkpoint(session, signer)
    if witnesses.configured:
        witnessing.submit_latest(session, witnesses)
        note = witnessing.cosigned_checkpoint(session, witnesses) or note
    size = Checkpoint.parse_body(split_note(note)[0]).tree_size
    tree = TiledTree(size, stored(session))
    lines = [
        entry_line(i["index"], i["leaf"], i["leaf_hash"], tree.inclusion_proof(i["index"]))
        for i in items
        if i["index"] < size
    ]
    return {
        ENTRIES: "".join(lines),
        CHECKPOINTS: note,
        VERIFIER_KEY: verifier_key_lines(signer.verifiers),
        WITNESS_KEYS: "".join(f"{key}\n" for key in witnesses.keys),
    }


def _with_sizes(notes: list[str]) -> list[tuple[str, int]]:
    return [(note, Checkpoint.parse_body(split_note(note)[0]).tree_size) for note in notes]
