"""``python -m audit verify`` on a partial export: every entry's proof against one checkpoint,
and the witness quorum when asked for, with nothing but the files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.__main__ import main as audit_main
from audit.checkpoint import Checkpoint
from audit.entry import Actor, Entry, canonical
from audit.export import CHECKPOINTS, ENTRIES, VERIFIER_KEY, entry_line, verifier_key_lines
from audit.note import Signer
from tests.audit.witnesses import new_cosigner

ORIGIN = "gateway.test/audit"
MOMENT = datetime(2026, 12, 2, tzinfo=UTC)


def leaf(index: int) -> bytes:
    entry = Entry(action="fetch", actor=Actor("organisation", f"org-{index % 3}"), outcome="ok")
    return canonical(entry.document(index, MOMENT))


@pytest.fixture
def log() -> tuple[Signer, list[bytes]]:
    return Signer(ORIGIN, Ed25519PrivateKey.generate()), [leaf(i) for i in range(13)]


def export(
    directory: Path, signer: Signer, leaves: list[bytes], picked: list[int], note: str
) -> Path:
    hashes = [merkle.leaf_hash(b) for b in leaves]
    subtree = merkle.subtree_from_list(hashes)
    directory.mkdir()
    (directory / ENTRIES).write_text(
        "".join(
            entry_line(i, leaves[i], hashes[i], merkle.inclusion_path(i, len(leaves), subtree))
            for i in picked
        )
    )
    (directory / CHECKPOINTS).write_text(note)
    (directory / VERIFIER_KEY).write_text(verifier_key_lines(signer.verifiers))
    return directory


def test_a_partial_export_verifies_and_the_quorum_is_counted(
    log: tuple[Signer, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer, leaves = log
    checkpoint = Checkpoint(ORIGIN, len(leaves), merkle.root([merkle.leaf_hash(b) for b in leaves]))
    one, two = new_cosigner("w.test/1"), new_cosigner("w.test/2")
    note = checkpoint.sign(signer) + one.cosign(checkpoint.body(), 1_790_000_000)
    directory = export(tmp_path / "x", signer, leaves, [1, 4, 7, 12], note)
    both = ["--witness", one.witness.encode(), "--witness", two.witness.encode()]

    assert audit_main(["verify", str(directory)]) == 0
    assert "4 entries" in capsys.readouterr().out
    assert audit_main(["verify", str(directory), *both, "--quorum", "1"]) == 0
    assert audit_main(["verify", str(directory), *both]) == 1  # default quorum: all of them
    assert "1 of the 2 cosignatures" in capsys.readouterr().err
    assert audit_main(["verify", str(directory), "--witness", two.witness.encode()]) == 1


def test_an_entry_moved_or_proved_against_another_tree_fails(
    log: tuple[Signer, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer, leaves = log
    smaller = Checkpoint(ORIGIN, 12, merkle.root([merkle.leaf_hash(b) for b in leaves[:12]]))
    directory = export(tmp_path / "x", signer, leaves, [2, 5], smaller.sign(signer))

    assert audit_main(["verify", str(directory)]) == 1
    assert "entry 2: not in the checkpoint of size 12" in capsys.readouterr().err
