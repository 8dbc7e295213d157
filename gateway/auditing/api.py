"""``/api/v1/audit``: the public checkpoint, verifier key and proofs; entries for callers.

Checkpoint, verifier key and proofs reveal hashes only and are public, as in Certificate
Transparency. Entries are not: an organisation's API client sees the entries of its own
actions, and every read is itself recorded.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from audit import store
from audit.export import verifier_key_lines
from audit.store import EntryFilter
from gateway.auditing import service
from gateway.deps import MAX_OFFSET, AuditSignerDep, CurrentClient, SessionDep

# Tree sizes are stored as 64-bit integers.
MAX_TREE_SIZE = 2**62

router = APIRouter(prefix="/audit", tags=["audit"])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str = Field(description="base64")
    root_hash: str = Field(description="base64")
    hashes: list[str] = Field(description="the audit path, leaf to root, base64")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str]


class AuditEntryOut(BaseModel):
    index: int
    leaf: str = Field(description="the exact leaf bytes (RFC 8785 JSON), base64")
    entry: dict[str, Any]


class AuditEntryPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    offset: int
    limit: int


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The latest signed checkpoint (C2SP tlog-checkpoint, signed-note)",
)
def read_checkpoint(session: SessionDep, signer: AuditSignerDep) -> str:
    return service.checkpoint(session, signer)


@router.get(
    "/verifier-key",
    response_class=PlainTextResponse,
    summary="The note verifier key that checks checkpoint signatures",
)
def read_verifier_key(signer: AuditSignerDep) -> str:
    return signer.verifier.encode() + "\n"


@router.get(
    "/verifier-keys",
    response_class=PlainTextResponse,
    summary="Every key that has signed this log's checkpoints, one per line, the current first",
    description="After a rotation of the checkpoint signing key, the retired keys stay listed "
    "here, so checkpoints signed before the rotation still verify.",
)
def read_verifier_keys(signer: AuditSignerDep) -> str:
    return verifier_key_lines(signer.verifiers)


@router.get("/proofs/inclusion", summary="Proof that an entry is in the tree (RFC 6962 §2.1.1)")
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)],
    tree_size: Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)],
) -> InclusionProof:
    if index >= tree_size:
        raise service.proof_sizes_error("index must be below tree_size", "index")
    _require_size(session, tree_size, "tree_size")
    return InclusionProof(
        index=index,
        tree_size=tree_size,
        leaf_hash=_b64(store.leaf_hash(session, index)),
        root_hash=_b64(store.root(session, tree_size)),
        hashes=[_b64(h) for h in store.inclusion_proof(session, index, tree_size)],
    )


@router.get(
    "/proofs/consistency",
    summary="Proof that a tree is an append-only extension of an older one (RFC 6962 §2.1.2)",
)
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)],
    second: Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)],
) -> ConsistencyProof:
    if first > second:
        raise service.proof_sizes_error("first must not exceed second", "first")
    _require_size(session, second, "second")
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=_b64(store.root(session, first)),
        second_root=_b64(store.root(session, second)),
        hashes=[_b64(h) for h in store.consistency_proof(session, first, second)],
    )


@router.get("/entries", summary="Entries of the caller's own actions, filtered and paginated")
def entries(
    client: CurrentClient,
    session: SessionDep,
    child_ref: str | None = None,
    purpose: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditEntryPage:
    where = EntryFilter(
        actor_id=client.organisation.id,
        child_ref=child_ref,
        purpose=purpose,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )
    page = service.read_entries(session, client.actor, where, offset=offset, limit=limit)
    return AuditEntryPage(
        items=[
            AuditEntryOut(index=i["index"], leaf=_b64(i["leaf"]), entry=i["entry"])
            for i in page.items
        ],
        total=page.total,
        offset=offset,
        limit=limit,
    )


def _require_size(session: SessionDep, size: int, parameter: str) -> None:
    current = store.tree_size(session)
    if size > current:
        raise service.proof_sizes_error(f"the log holds {current} entries", parameter)
