"""``/api/v1/audit/tile/…``: the log's Merkle tree as C2SP tlog-tiles, beside its checkpoint.

``/api/v1/audit`` is the log's tlog-tiles prefix: ``<prefix>/checkpoint`` and
``<prefix>/tile/<L>/<N>[.p/<W>]``. Hash tiles reveal no entry, so they are public like the
checkpoint; a mirror fetches them whole and computes any proof itself, so the gateway never
learns which entry someone checks. Entry bundles (``tile/entries/…``) are not served: entries
name children's references, organisations and purposes (ADR 0012).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from audit.tiles import Tile, TileError, read_tile
from gateway.deps import SessionDep
from gateway.errors import NotFoundError, problem_responses
from gateway.one_hop import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/audit", tags=["audit"])

# A full tile never changes; a partial one is replaced by a wider one as the log grows.
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_TILE_CACHE = "public, max-age=60"


@router.get(
    "/tile/{tile_path:path}",
    summary="A tile of the log's Merkle tree (C2SP tlog-tiles)",
    description="`<L>/<N>[.p/<W>]`: the hashes at level `L` (of subtrees of 256^L entries), "
    "tile `N` in three-digit path elements (`x001/x234/067`), 256 hashes of 32 bytes, or "
    "the first `W` of them for a partial tile. Full tiles are immutable. 404 for a tile the "
    "log does not hold yet. Entry bundles (`entries/<N>`) are not served: the entries are "
    "not public.",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The tile"},
        **problem_responses(404),
    },
)
def read_tile_at(session: SessionDep, tile_path: str) -> Response:
    if tile_path.startswith("entries/"):
        raise NotFoundError(
            "This log serves no entry bundles: its entries name children's references, "
            "organisations and purposes. Hash tiles are public; entries go to those allowed "
            "to read them, through /api/v1/audit/entries and the officers' exports."
        )
    try:
        tile = Tile.parse(f"tile/{tile_path}")
    except TileError as exc:
        raise NotFoundError(f"{exc}. Tiles are named tile/<L>/<N>[.p/<W>].") from exc
    data = read_tile(session, tile)
    if data is None:
        raise NotFoundError(f"The log holds no {tile.path} yet.")
    cache = FULL_TILE_CACHE if tile.full else PARTIAL_TILE_CACHE
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})
