"""A mirror and monitor of a tiled log that anyone can run: ``python -m audit mirror URL DIR``.

Each round fetches the log's checkpoint and the hash tiles the mirror lacks, and accepts the
new checkpoint only when all of this holds:

- it is signed by a key the monitor trusts, and cosigned by its quorum of witnesses;
- every new full tile hashes to the entry the level above holds for it, and the tiles give the
  checkpoint's root, so the tiles are the tree the checkpoint commits to;
- the root of the tree this mirror verified last, recomputed from its own tiles, is still what
  that checkpoint said: the new tree contains the old one.

Only then are the tiles written and, last, the checkpoint (each by rename, so an interrupted
round leaves the previous state). A smaller tree is a rollback, another root at the same size
a fork, a tile that does not hash to its parent a forged or corrupted tile: each is a
``LogFaultError`` and the mirror keeps the last checkpoint it verified.

The directory holds ``checkpoint`` and ``tile/<L>/<N>[.p/<W>]`` exactly as served, so it can be
served again as a read-only copy of the log's tree; ``python -m audit check-inclusion --tiles``
computes proofs from it.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.cosignature import Witness
from audit.note import NoteError, Verifier
from audit.tiles import HEIGHT, Tile, TiledTree, TileError, tile_root, tiles_of
from audit.verify import quorum_fault

CHECKPOINT = "checkpoint"
FETCHERS = 8
TIMEOUT = 30.0


class LogFaultError(Exception):
    """The log showed something a log that only appends never shows: the mirror refuses it."""


class UnreachableError(Exception):
    """The log did not answer, or not with what it must hold; nothing was decided."""


Fetch = Callable[[str], bytes]


def http_fetch(prefix: str) -> Fetch:
    """GET ``<prefix>/<path>`` with the standard library: the audit package needs no client."""
    base = prefix.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"the log's prefix is an http(s) URL, not {prefix!r}")

    def fetch(path: str) -> bytes:
        try:
            url = f"{base}/{path}"
            with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 (checked)
                data: bytes = answer.read()
                return data
        except urllib.error.HTTPError as exc:
            raise UnreachableError(f"GET {base}/{path}: {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise UnreachableError(f"GET {base}/{path}: {exc}") from exc

    return fetch


@dataclass(frozen=True)
class Round:
    """What one round did: the size verified before and now, and how many tiles it fetched."""

    before: int | None
    size: int
    root_hash: bytes
    fetched: int


@dataclass
class Mirror:
    directory: Path
    verifiers: Sequence[Verifier]
    fetch: Fetch
    witnesses: Sequence[Witness] = ()
    quorum: int = 0
    progress: Callable[[int, int], None] | None = None  # (tiles done, tiles to fetch)

    def update(self) -> Round:
        """One round: fetch, verify, then keep; LogFaultError or UnreachableError otherwise."""
        note = self.fetch(CHECKPOINT).decode("utf-8", errors="replace")
        new = self._checked(note)
        old = verified(self.directory, self.verifiers)
        if old is not None:
            _compare_heads(old, new)
            if new.tree_size == old.tree_size:
                return Round(old.tree_size, new.tree_size, new.root_hash, 0)
        wanted = [t for t in tiles_of(new.tree_size) if not (self.directory / t.path).exists()]
        fetched = self._fetch_all(wanted)
        kept = kept_tiles(self.directory)
        tree = TiledTree(new.tree_size, lambda t: fetched[t] if t in fetched else kept(t))
        try:
            verify_tiles(tree, new, fetched)
            if old is not None and tree.root(old.tree_size) != old.root_hash:
                raise LogFaultError(
                    f"fork: the log's tree of {new.tree_size} entries does not contain the tree "
                    f"of {old.tree_size} entries this mirror verified (root "
                    f"{_b64(old.root_hash)}); the log's history was rewritten"
                )
        except TileError as exc:
            raise LogFaultError(f"bad tile: {exc}") from exc
        self._keep(fetched, note)
        return Round(
            None if old is None else old.tree_size, new.tree_size, new.root_hash, len(fetched)
        )

    def _checked(self, note: str) -> Checkpoint:
        try:
            checkpoint = Checkpoint.verify(note, self.verifiers)
        except NoteError as exc:
            raise LogFaultError(
                f"the log's checkpoint is not signed by a key you trust ({exc}); after a key "
                "rotation, pass the new key with --verifier-key once you have it from the "
                "operator"
            ) from exc
        if self.witnesses:
            problem = quorum_fault(note, self.witnesses, self.quorum)
            if problem is not None:
                raise LogFaultError(f"the checkpoint of {checkpoint.tree_size} entries: {problem}")
        return checkpoint

    def _fetch_all(self, tiles: Sequence[Tile]) -> dict[Tile, bytes]:
        fetched: dict[Tile, bytes] = {}
        if not tiles:
            return fetched
        with ThreadPoolExecutor(FETCHERS) as pool:
            for done, (tile, data) in enumerate(
                zip(tiles, pool.map(lambda t: self.fetch(t.path), tiles), strict=True), 1
            ):
                fetched[tile] = data
                if self.progress is not None:
                    self.progress(done, len(tiles))
        return fetched

    def _keep(self, fetched: dict[Tile, bytes], note: str) -> None:
        for tile, data in fetched.items():
            _write(self.directory / tile.path, data)
        for tile in fetched:
            if tile.full:
                _remove_partials(self.directory, tile)
        _write(self.directory / CHECKPOINT, note.encode("utf-8"))


def verified(directory: Path, verifiers: Sequence[Verifier]) -> Checkpoint | None:
    """The last checkpoint the mirror in ``directory`` verified, or None before its first
    round; checked again with ``verifiers``."""
    path = directory / CHECKPOINT
    if not path.exists():
        return None
    return Checkpoint.verify(path.read_text(encoding="utf-8"), verifiers)


def kept_tiles(directory: Path) -> Callable[[Tile], bytes]:
    """The tiles the mirror in ``directory`` keeps, as a ``TiledTree`` reads them."""
    return lambda tile: (directory / tile.path).read_bytes()


def _compare_heads(old: Checkpoint, new: Checkpoint) -> None:
    if new.origin != old.origin:
        raise LogFaultError(f"the log's origin changed from {old.origin!r} to {new.origin!r}")
    if new.tree_size < old.tree_size:
        raise LogFaultError(
            f"rollback: the log now signs a tree of {new.tree_size} entries, but this mirror "
            f"verified a signed tree of {old.tree_size}; a log that only appends never "
            "shrinks (a restore from an older backup, or a fork)"
        )
    if new.tree_size == old.tree_size and new.root_hash != old.root_hash:
        raise LogFaultError(
            f"fork: the log signed two different trees of {new.tree_size} entries (root "
            f"{_b64(old.root_hash)} before, {_b64(new.root_hash)} now)"
        )


def verify_tiles(tree: TiledTree, checkpoint: Checkpoint, fetched: dict[Tile, bytes]) -> None:
    """Every fetched full tile against its parent's entry; then all tiles against the root.
    A partial tile has no parent: the root covers it. Tiles are checked in the order fetched
    (``tiles_of``: lowest level first), so a fault names the lowest bad tile."""
    for tile, data in fetched.items():
        if not tile.full:
            continue
        parent = tree.perfect(HEIGHT * (tile.level + 1), tile.index)
        if tile_root(data, tile) != parent:
            raise LogFaultError(
                f"bad tile: {tile.path} does not hash to the entry the tile above holds for "
                "it; the log served a forged or corrupted tile"
            )
    root = tree.root()
    if root != checkpoint.root_hash:
        raise LogFaultError(
            f"bad tiles: they give root {_b64(root)}, the checkpoint of {checkpoint.tree_size} "
            f"entries says {_b64(checkpoint.root_hash)}"
        )


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    partial.write_bytes(data)
    partial.replace(path)


def _remove_partials(directory: Path, tile: Tile) -> None:
    """A full tile supersedes the partial ones of the same position."""
    partials = directory / (tile.path + ".p")
    if partials.is_dir():
        for old in partials.iterdir():
            old.unlink()
        partials.rmdir()


def inclusion_from_tiles(
    directory: Path, verifiers: Sequence[Verifier], entries: Iterable[tuple[int, bytes]]
) -> tuple[Checkpoint, list[str]]:
    """Check that each ``(index, leaf hash)`` is in the tree the mirror's checkpoint commits to,
    with proofs computed from the mirror's own tiles: nobody is asked anything. Returns the
    checkpoint and the faults."""
    checkpoint = verified(directory, verifiers)
    if checkpoint is None:
        raise FileNotFoundError(f"{directory / CHECKPOINT}: run python -m audit mirror first")
    tree = TiledTree(checkpoint.tree_size, kept_tiles(directory))
    faults = []
    for index, leaf_hash in entries:
        if index >= checkpoint.tree_size:
            faults.append(
                f"entry {index} is not in the mirror's checkpoint of {checkpoint.tree_size} "
                "entries yet: run the mirror again"
            )
            continue
        try:
            proof = tree.inclusion_proof(index)
        except (TileError, OSError) as exc:
            faults.append(f"entry {index}: the mirror's tiles cannot prove it ({exc})")
            continue
        if not merkle.verify_inclusion(
            index, checkpoint.tree_size, leaf_hash, proof, checkpoint.root_hash
        ):
            faults.append(f"entry {index} is not in the signed log (its leaf hash differs)")
    return checkpoint, faults


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
