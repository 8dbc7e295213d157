"""Tiles (C2SP tlog-tiles): their paths, which tiles a tree has, the tiles the store serves, and
the subtree hashes, roots and proofs a client computes from tiles alone.

The expected tiles are built here from the spec's definition, tile ``n`` at level ``l`` being
``MTH(D[(n*256 + i) * 256**l : (n*256 + i + 1) * 256**l])`` for ``i`` in 0..255, with the
recursive reference ``merkle.subtree_from_list``, not with the code under test."""

from __future__ import annotations

import hashlib
import random
from functools import cache

import pytest
from sqlalchemy.orm import Session

from audit import merkle, store
from audit.entry import Actor, Entry
from audit.tiles import Tile, TiledTree, TileError, read_tile, tile_at, tiles_of

SYSTEM = Actor("system", "test")


def leaf_hashes(count: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(n).encode()).digest()) for n in range(count)]


def mth(hashes: list[bytes]) -> merkle.SubtreeHash:
    """RFC 6962's MTH(D[start:end]) by its recursive definition, remembering each result."""

    @cache
    def subtree(start: int, end: int) -> bytes:
        if end - start == 1:
            return hashes[start]
        k = merkle.split_point(end - start)
        return merkle.node_hash(subtree(start, start + k), subtree(start + k, end))

    return subtree


def spec_tile(hashes: list[bytes], tile: Tile) -> bytes:
    return _tile(mth(hashes), tile)


def _tile(reference: merkle.SubtreeHash, tile: Tile) -> bytes:
    span = 256**tile.level
    first = tile.index * 256
    return b"".join(
        reference((first + i) * span, (first + i + 1) * span) for i in range(tile.width)
    )


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 0), "tile/0/000"),
        (Tile(0, 5, 3), "tile/0/005.p/3"),
        (Tile(1, 1234067), "tile/1/x001/x234/067"),
        (Tile(2, 1000, 255), "tile/2/x001/000.p/255"),
        (Tile(63, 999), "tile/63/999"),
    ],
)
def test_tile_paths_are_the_specs(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert Tile.parse(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/5",  # not three digits
        "tile/0/x000/005",  # a leading zero element
        "tile/0/x001/x234",  # the last element has no x
        "tile/0/001/234",  # only the last element goes without x
        "tile/01/000",  # a level with a leading zero
        "tile/64/000",  # no level above 63
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/entries/000",
        "tile/0/000/",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(TileError):
        Tile.parse(path)


def test_the_tiles_of_a_tree_are_the_specs_example() -> None:
    """tlog-tiles: a tree of 70,000 entries is 273 full level-0 tiles, a partial one of width
    112, one full level-1 tile, a partial one of width 17 and a partial level-2 tile of one."""
    tiles = list(tiles_of(70_000))
    assert [t for t in tiles if t.level == 0 and t.full] == [Tile(0, n) for n in range(273)]
    assert [t for t in tiles if not (t.level == 0 and t.full)] == [
        Tile(0, 273, 112),
        Tile(1, 0),
        Tile(1, 1, 17),
        Tile(2, 0, 1),
    ]
    assert list(tiles_of(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_of(0)) == []
    with pytest.raises(TileError):
        tile_at(256, 0, 1)


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 65_536, 70_000])
def test_a_tree_computed_from_its_tiles_is_the_tree(size: int) -> None:
    hashes = leaf_hashes(size)
    reference = mth(hashes)
    tiles = {tile: _tile(reference, tile) for tile in tiles_of(size)}
    reads: list[Tile] = []

    def read(tile: Tile) -> bytes:
        reads.append(tile)
        return tiles[tile]

    tree = TiledTree(size, read)
    reference = mth(hashes)
    chosen = random.Random(size)  # noqa: S311 (a sample, not a secret)
    assert tree.root() == reference(0, size)
    for index in {0, size - 1, *chosen.sample(range(size), min(size, 20))}:
        assert tree.leaf_hash(index) == hashes[index]
        assert tree.inclusion_proof(index) == merkle.inclusion_path(index, size, reference)
    for first in {1, size, *chosen.sample(range(1, size + 1), min(size, 10))}:
        assert tree.root(first) == reference(0, first)
        assert tree.consistency_proof(first) == merkle.consistency_proof(first, size, reference)
    assert len(reads) == len(set(reads))  # each tile read once


def test_a_tile_of_the_wrong_length_is_refused() -> None:
    hashes = leaf_hashes(300)
    tiles = {tile: spec_tile(hashes, tile) for tile in tiles_of(300)}
    tiles[Tile(0, 1, 44)] = tiles[Tile(0, 1, 44)][:-1]
    with pytest.raises(TileError, match="bytes"):
        TiledTree(300, tiles.__getitem__).root()


def test_the_store_serves_the_specs_tiles_and_none_ahead_of_the_log(session: Session) -> None:
    batch = [Entry(action="test.tile", actor=SYSTEM, outcome="success") for _ in range(600)]
    appended = store.append_batch(session, batch)
    session.commit()
    hashes = [a.leaf_hash for a in appended]

    for tile in tiles_of(600):
        assert read_tile(session, tile) == spec_tile(hashes, tile), tile.path
    assert read_tile(session, Tile(0, 1, 200)) == spec_tile(hashes, Tile(0, 1, 200))  # older
    assert read_tile(session, Tile(0, 2, 89)) is None  # 601 entries
    assert read_tile(session, Tile(0, 2)) is None
    assert read_tile(session, Tile(1, 0, 3)) is None
