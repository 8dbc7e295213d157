"""RFC 6962 trees and proofs: Certificate Transparency known answers, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

# The Certificate Transparency reference leaves and tree heads (RFC 6962 test data).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (0-based index, tree size, path)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [  # (first, second, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
HASHES = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]
SUBTREE = merkle.subtree_from_list(HASHES)


@pytest.mark.parametrize("size", range(9))
def test_tree_heads_match_certificate_transparency(size: int) -> None:
    assert merkle.root(HASHES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_match_certificate_transparency(
    index: int, size: int, path: list[str]
) -> None:
    proof = merkle.inclusion_path(index, size, SUBTREE)

    assert [h.hex() for h in proof] == path
    assert merkle.verify_inclusion(index, size, HASHES[index], proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY)
def test_consistency_proofs_match_certificate_transparency(
    first: int, second: int, path: list[str]
) -> None:
    proof = merkle.consistency_proof(first, second, SUBTREE)

    assert [h.hex() for h in proof] == path
    assert merkle.verify_consistency(
        first, second, proof, bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second])
    )


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(proof: list[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    item = changed[position % len(changed)]
    changed[position % len(changed)] = bytes([item[0] ^ 1]) + item[1:]
    return changed


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_every_inclusion_proof_verifies_and_altered_ones_fail(
    size: int, data: st.DataObject
) -> None:
    leaves = _leaves(size)
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root(leaves)
    proof = merkle.inclusion_path(index, size, merkle.subtree_from_list(leaves))

    assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    if proof:
        assert not merkle.verify_inclusion(
            index, size, leaves[index], _flip(proof, data.draw(st.integers(0, 63))), root
        )
        assert not merkle.verify_inclusion(index, size, leaves[index], proof[:-1], root)
    assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"other"), proof, root)
    if size > 1:
        assert not merkle.verify_inclusion((index + 1) % size, size, leaves[index], proof, root)


@settings(max_examples=200, deadline=None)
@given(second=st.integers(1, 300), data=st.data())
def test_every_consistency_proof_verifies_and_altered_ones_fail(
    second: int, data: st.DataObject
) -> None:
    leaves = _leaves(second)
    first = data.draw(st.integers(1, second))
    first_root, second_root = merkle.root(leaves[:first]), merkle.root(leaves)
    proof = merkle.consistency_proof(first, second, merkle.subtree_from_list(leaves))

    assert merkle.verify_consistency(first, second, proof, first_root, second_root)
    if proof:
        altered = _flip(proof, data.draw(st.integers(0, 63)))
        assert not merkle.verify_consistency(first, second, altered, first_root, second_root)
    if first < second:
        forged = merkle.root(_leaves(first + 1)[1:] or [merkle.leaf_hash(b"x")])
        assert not merkle.verify_consistency(first, second, proof, forged, second_root)


def test_stored_node_positions_never_collide() -> None:
    from audit.store import position_of

    positions = [position_of(level, index) for level in range(12) for index in range(600)]

    assert len(set(positions)) == len(positions)
    assert position_of(0, 5) == 10  # leaves take the even positions
