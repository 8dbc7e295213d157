"""``verify_log`` checks leaves in aligned chunks that are hashed as whole subtrees. With a chunk of
four leaves, random logs cross many chunk edges; the chunked result must equal the plain RFC 6962
computation, and every kind of tamper must be found at its index."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle, verify
from audit.checkpoint import Checkpoint
from audit.note import Signer

SIGNER = Signer("test.example/verify", Ed25519PrivateKey.generate())


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "CHUNK", 4)


def leaf(index: int, note: str = "") -> bytes:
    document = {"action": "decision", "index": index, "note": note}
    return json.dumps(document, separators=(",", ":")).encode()


def log(size: int) -> list[tuple[int, bytes, bytes | None]]:
    return [(i, leaf(i), merkle.leaf_hash(leaf(i))) for i in range(size)]


def checkpoints(rows: list[tuple[int, bytes, bytes | None]], sizes: set[int]) -> list[str]:
    hashes = [merkle.leaf_hash(row[1]) for row in rows]
    return [
        Checkpoint(SIGNER.name, size, merkle.root(hashes[:size])).sign(SIGNER)
        for size in sorted(sizes)
    ]


sizes_and_checkpoints = st.integers(min_value=0, max_value=40).flatmap(
    lambda size: st.tuples(
        st.just(size), st.sets(st.integers(min_value=0, max_value=size), max_size=5)
    )
)


@settings(max_examples=150, deadline=None)
@given(sizes_and_checkpoints)
def test_an_untouched_log_verifies_with_the_rfc_root(case: tuple[int, set[int]]) -> None:
    size, signed = case
    rows = log(size)

    report = verify.verify_log(rows, checkpoints(rows, signed), SIGNER.verifier)

    assert report.ok, report.faults
    assert report.entries == size
    assert report.checkpoints == len(signed)
    assert report.root_hash == merkle.root([merkle.leaf_hash(row[1]) for row in rows])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=2, max_value=40).flatmap(
        lambda size: st.tuples(st.just(size), st.integers(min_value=0, max_value=size - 1))
    ),
    st.sampled_from(["leaf", "leaf and hash", "moved", "dropped"]),
)
def test_every_tamper_is_found_at_its_index(case: tuple[int, int], tamper: str) -> None:
    size, bad = case
    rows = log(size)
    signed = checkpoints(rows, {size})
    if tamper == "leaf":
        rows[bad] = (bad, leaf(bad, "forged"), rows[bad][2])
    elif tamper == "leaf and hash":
        forged = leaf(bad, "forged")
        rows[bad] = (bad, forged, merkle.leaf_hash(forged))
    elif tamper == "moved":
        other = (bad + 1) % size
        rows[bad] = (bad, rows[other][1], rows[other][2])
    else:
        del rows[bad]

    report = verify.verify_log(rows, signed, SIGNER.verifier)

    assert not report.ok
    if tamper == "leaf and hash":  # only the signed root can tell, and it names a range
        assert report.first_bad_index is not None
        assert report.first_bad_index <= bad
    else:
        assert report.first_bad_index == bad, report.faults
