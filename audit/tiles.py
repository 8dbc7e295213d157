"""The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, tiles read from the
stored subtree hashes, and the client's side: any subtree hash, proof or root from tiles alone.

A tile at level ``L`` is 256 consecutive Merkle tree hashes of subtrees of ``256**L`` leaves:
tile ``(L, N)`` holds the hashes at tree height ``8L``, indices ``256N`` to ``256N + 255``.
``audit_nodes`` stores every perfect subtree's hash when its last leaf arrives, so each append
completes at most one tile per level and its hashes are written in that append: a tile is one
primary-key lookup per hash, never a rehash. Full tiles never change; a partial tile of width
``W`` is the first ``W`` hashes of the tile as it will be.

Hand-written because no maintained Python library reads or writes tlog-tiles; the tests check
the served tiles with Go's ``golang.org/x/mod/sumdb/tlog``, where the format comes from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from audit import merkle, store

HEIGHT = 8
WIDTH = 1 << HEIGHT
MAX_LEVEL = 63

_PATH = re.compile(r"tile/(0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


class TileError(ValueError):
    """A tile that is malformed, missing, or does not hash to what the tree above it says."""


@dataclass(frozen=True)
class Tile:
    level: int
    index: int
    width: int = WIDTH

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]``, ``N`` in three-digit elements, all but the last ``x``-ed."""
        digits = f"{self.index:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        parts = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        name = "/".join([*(f"x{part}" for part in parts[:-1]), parts[-1]])
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{self.level}/{name}{suffix}"

    @classmethod
    def parse(cls, path: str) -> Tile:
        """The tile a path names; TileError for anything the spec does not allow."""
        found = _PATH.fullmatch(path)
        if found is None:
            raise TileError(f"not a tile path: {path!r}")
        level, name, width = found.groups()
        elements = name.replace("x", "").split("/")
        if len(elements) > 1 and elements[0] == "000":
            raise TileError(f"a tile index has no leading zero elements: {path!r}")
        tile = cls(int(level), int("".join(elements)), int(width or WIDTH))
        if tile.width > WIDTH or not 0 <= tile.level <= MAX_LEVEL:
            raise TileError(f"not a tile path: {path!r}")
        if tile.path != path:
            raise TileError(f"not the canonical path of its tile: {path!r}")
        return tile


def tiles_of(size: int) -> Iterator[Tile]:
    """Every tile of a tree of ``size`` leaves: the full ones of each level, then its partial
    one; lowest level first. An empty tile is no tile."""
    level = 0
    while (count := size >> (HEIGHT * level)) > 0:
        for index in range(count // WIDTH):
            yield Tile(level, index)
        if count % WIDTH:
            yield Tile(level, count // WIDTH, count % WIDTH)
        level += 1


def tile_at(size: int, level: int, index: int) -> Tile:
    """Tile ``(level, index)`` as a tree of ``size`` holds it: full, or its partial width."""
    count = size >> (HEIGHT * level)
    width = min(WIDTH, count - index * WIDTH)
    if width <= 0:
        raise TileError(f"a tree of {size} entries has no tile {level}/{index}")
    return Tile(level, index, width)


# --- the log's side: tiles from the stored subtree hashes -------------------------------------


def read_tile(session: Session, tile: Tile) -> bytes | None:
    """The tile's bytes (``width`` hashes of 32 bytes), or None when the log does not hold all
    of them yet. Only committed subtrees exist, so a tile is never served ahead of its log."""
    height, first = HEIGHT * tile.level, tile.index * WIDTH
    wanted = [(height, first + offset) for offset in range(tile.width)]
    found = store.fetch_nodes(session, set(wanted))
    if len(found) < tile.width:
        return None
    return b"".join(found[key] for key in wanted)


def stored(session: Session) -> Callable[[Tile], bytes]:
    """The log's tiles as a ``TiledTree`` reads them, for a tree the log holds whole (the tree
    of a signed checkpoint): a tile it lacks is a TileError."""

    def read(tile: Tile) -> bytes:
        data = read_tile(session, tile)
        if data is None:
            raise TileError(f"the log holds no {tile.path}")
        return data

    return read


# --- the client's side: a tree computed from its tiles ----------------------------------------


def checked(data: bytes, tile: Tile) -> bytes:
    """A tile's bytes, if there are as many as its width says; TileError otherwise."""
    if len(data) != tile.width * merkle.HASH_SIZE:
        raise TileError(
            f"tile {tile.path} has {len(data)} bytes, not {tile.width * merkle.HASH_SIZE}"
        )
    return data


def tile_hashes(data: bytes, tile: Tile) -> list[bytes]:
    """A tile's bytes as its hashes; TileError when the length is not its width's."""
    checked(data, tile)
    return [data[i : i + merkle.HASH_SIZE] for i in range(0, len(data), merkle.HASH_SIZE)]


def tile_levels(data: bytes) -> list[list[bytes]]:
    """The levels inside a tile above its hashes (which stay in ``data``): level ``r`` (from 1)
    is the subtrees of ``2**r`` hashes, as far as complete pairs go in a partial tile. The
    first level hashes each pair straight from the bytes, where the two lie side by side."""
    pair = 2 * merkle.HASH_SIZE
    current = [
        hashlib.sha256(b"\x01" + data[i : i + pair]).digest()
        for i in range(0, len(data) - pair + 1, pair)
    ]
    levels = [current]
    while len(current) > 1:
        current = [
            hashlib.sha256(b"\x01" + current[i] + current[i + 1]).digest()
            for i in range(0, len(current) - 1, 2)
        ]
        levels.append(current)
    return levels


def tile_root(data: bytes, tile: Tile) -> bytes:
    """The hash a full tile contributes to the level above: the root over its 256 hashes."""
    return tile_levels(checked(data, tile))[-1][0]


class TiledTree:
    """The tree of ``size`` leaves as its tiles show it: subtree hashes, the root, inclusion and
    consistency proofs, computed here from tiles ``read`` returns (bytes, as served). A tile is
    read and split into its inner levels once while it is among the ``CACHED`` last used (a
    proof reads one tile per level, and nearby entries share theirs)."""

    CACHED = 1024  # tiles, about 40 kB each with their inner levels

    def __init__(self, size: int, read: Callable[[Tile], bytes]) -> None:
        self.size = size
        self._read = read
        self._levels = lru_cache(maxsize=self.CACHED)(self._load)
        self.subtree = merkle.from_perfect(self.perfect)  # MTH(D[start:end]): merkle.SubtreeHash

    def _load(self, tile: Tile) -> tuple[bytes, list[list[bytes]]]:
        data = checked(self._read(tile), tile)
        return data, tile_levels(data)

    def perfect(self, height: int, index: int) -> bytes:
        """The hash of the perfect subtree of ``2**height`` leaves numbered ``index``."""
        level, inner = divmod(height, HEIGHT)
        first = index << inner  # its first hash at the tile level
        data, levels = self._levels(tile_at(self.size, level, first // WIDTH))
        offset = (first % WIDTH) >> inner
        if inner == 0 and offset * merkle.HASH_SIZE < len(data):
            return data[offset * merkle.HASH_SIZE : (offset + 1) * merkle.HASH_SIZE]
        if inner == 0 or inner > len(levels) or offset >= len(levels[inner - 1]):
            raise TileError(f"a tree of {self.size} entries has no subtree {height}/{index}")
        return levels[inner - 1][offset]

    def root(self, size: int | None = None) -> bytes:
        """The root of this tree, or of the smaller tree of ``size`` leaves it contains."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise TileError(f"a tree of {self.size} entries holds no tree of {size}")
        return merkle.EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def leaf_hash(self, index: int) -> bytes:
        return self.perfect(0, index)

    def inclusion_proof(self, index: int) -> list[bytes]:
        return merkle.inclusion_path(index, self.size, self.subtree)

    def consistency_proof(self, first: int) -> list[bytes]:
        return merkle.consistency_proof(first, self.size, self.subtree)
