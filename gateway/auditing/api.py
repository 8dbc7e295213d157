"""``/api/v1/audit``: the public checkpoint, verifier key and proofs; entries for their readers.

Checkpoint, verifier key and proofs reveal hashes only and are public, as in Certificate
Transparency. Entries are not: an organisation's API client sees the entries of its own
actions; a privacy officer, logged in to the portal, sees the entries that name their
organisation as actor, requester or source (the gateway's own officer sees all). Every read is
itself recorded.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from audit import store
from audit.checkpoint import Checkpoint
from audit.entry import Actor
from audit.export import verifier_key_lines
from audit.note import Signer, split_note
from audit.store import EntryFilter
from gateway.auditing import service, witnessing
from gateway.auditing.witnessing import Witnesses
from gateway.children.service import bsn_pseudonym
from gateway.deps import (
    MAX_OFFSET,
    AccessTokensDep,
    AuditSignerDep,
    AuditWitnessesDep,
    BearerDep,
    PseudonymKeyDep,
    RateLimitsDep,
    SessionDep,
    get_principal,
    require_json,
)
from gateway.errors import (
    ConflictError,
    ServiceUnavailableError,
    ValidationFailedError,
    problem_responses,
)
from gateway.one_hop import OneHopRoute
from gateway.portal.login import LoginRequiredError, current_officer
from gateway.rate_limits import RateLimits
from gateway.staff.schemas import STAFF_ID
from gateway.tracing import TRACE_ID

# Tree sizes are stored as 64-bit integers.
MAX_TREE_SIZE = 2**62
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

_ENTRIES = (
    "An API client sees the entries of its own organisation's actions. A privacy officer, "
    "logged in to the portal (the session cookie), sees every entry that names their "
    "organisation as actor, requester or source; the gateway's own officer sees all. Each "
    "entry carries its index and its exact leaf bytes, so anyone can recompute its hash and "
    "check it against the inclusion proofs. Every read is itself recorded as `audit.read`."
)
_ORGANISATION = "Only entries naming this organisation id as actor, requester or source."
_ON_BEHALF_OF = (
    "Only the calls `organisation` made on behalf of this staff member (its own staff id, as "
    "the organisation registered it); needs `organisation`."
)
_TRACE_ID = (
    "Only entries of this W3C trace (32 lowercase hex digits): the trace id of the "
    "`traceparent` a call sent or got back."
)

router = APIRouter(route_class=OneHopRoute, prefix="/audit", tags=["audit"])


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
    description="Without witnesses, the latest checkpoint, signed now if the log has grown. "
    "With witnesses (GATEWAY_AUDIT_WITNESSES), the latest checkpoint that the quorum has "
    "cosigned, with their cosignature lines (C2SP tlog-cosignature) after the log's own "
    "signature; 503 until the first one has. Witness keys: `/audit/witness-keys`.",
    responses=problem_responses(503),
)
def read_checkpoint(
    session: SessionDep, signer: AuditSignerDep, witnesses: AuditWitnessesDep
) -> str:
    return _served_checkpoint(session, signer, witnesses)


def _served_checkpoint(session: Session, signer: Signer, witnesses: Witnesses) -> str:
    note = service.checkpoint(session, signer)
    if not witnesses.configured:
        return note
    cosigned = witnessing.cosigned_checkpoint(session, witnesses)
    if cosigned is None:
        raise ServiceUnavailableError(
            "No checkpoint has been cosigned by the quorum of witnesses yet.",
            headers={"Retry-After": "60"},
            check="witnesses",
        )
    return cosigned


@router.get(
    "/witness-keys",
    response_class=PlainTextResponse,
    summary="The verifier keys (C2SP vkey, type 0x04) of the witnesses that cosign checkpoints",
    description="One per line, then nothing else; the quorum is in `/health/ready`. Empty "
    "when no witnesses are configured.",
)
def read_witness_keys(witnesses: AuditWitnessesDep) -> str:
    return "".join(f"{key}\n" for key in witnesses.keys)


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


@router.get(
    "/proofs/inclusion",
    summary="Proof that an entry is in the tree (RFC 6962 §2.1.1)",
    description="Against the tree of `tree_size` entries; without it, against the checkpoint "
    "`/audit/checkpoint` serves now (409 while that checkpoint does not hold the entry yet, "
    "when witnesses must cosign it first). A delivery's or a fetch's answer links here.",
    responses=problem_responses(409, 503),
)
def inclusion(
    session: SessionDep,
    signer: AuditSignerDep,
    witnesses: AuditWitnessesDep,
    index: Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)],
    tree_size: Annotated[int | None, Query(alias="treeSize", ge=1, le=MAX_TREE_SIZE)] = None,
) -> InclusionProof:
    if tree_size is None:
        body, _ = split_note(_served_checkpoint(session, signer, witnesses))
        tree_size = Checkpoint.parse_body(body).tree_size
        if index >= tree_size:
            raise ConflictError(
                f"The latest checkpoint holds {tree_size} entries; entry {index} will be in the "
                "next one. Ask again after it, or name a tree_size.",
                headers={"Retry-After": "60"},
            )
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


@dataclass(frozen=True)
class Reader:
    """Who reads the log, and which entries that gives them."""

    actor: Actor
    own_actions_of: str | None = None  # an API client: its organisation's own actions
    visible_to: str | None = None  # an organisation's officer: entries naming it; None = all


async def get_reader(
    request: Request,
    session: SessionDep,
    tokens: AccessTokensDep,
    rate_limits: RateLimitsDep,
    credentials: BearerDep,
) -> Reader:
    """An API client by its token, or a privacy officer by their portal login; either way
    within the API's rate limit (an officer's own, apart from their organisation's clients).
    A client is confirmed in the endpoint's worker hop, like every API caller."""
    if credentials is None:
        with suppress(LoginRequiredError):
            return await run_in_threadpool(_officer_reader, request, session, rate_limits)
    client = await get_principal(request, session, tokens, rate_limits, credentials)
    return Reader(client.actor, own_actions_of=client.organisation_id)


def _officer_reader(request: Request, session: Session, rate_limits: RateLimits) -> Reader:
    officer = current_officer(request, session)
    rate_limits.officer(officer.actor.id)
    return Reader(officer.actor, visible_to=officer.scope)


ReaderDep = Annotated[Reader, Depends(get_reader)]
OrganisationId = Annotated[str | None, Query(max_length=64, description=_ORGANISATION)]


class ChildByBsn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bsn: str = Field(max_length=16, description="The child's BSN (elfproef).")


class EntrySearch(BaseModel):
    """The filters of ``GET /entries``, and a child named by BSN; in a body, so a BSN never
    appears in a URL, an access log or a browser history."""

    model_config = ConfigDict(extra="forbid")
    child: ChildByBsn | None = None
    child_ref: str | None = Field(default=None, max_length=64)
    organisation: str | None = Field(default=None, max_length=64, description=_ORGANISATION)
    purpose: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    trace_id: str | None = Field(default=None, pattern=TRACE_ID, description=_TRACE_ID)
    on_behalf_of: str | None = Field(default=None, pattern=STAFF_ID, description=_ON_BEHALF_OF)
    since: datetime | None = None
    until: datetime | None = None
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get(
    "/entries",
    summary="Entries you may read, filtered and paginated",
    description=_ENTRIES,
)
def entries(
    reader: ReaderDep,
    session: SessionDep,
    child_ref: Annotated[str | None, Query(alias="childRef", max_length=64)] = None,
    organisation: OrganisationId = None,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(max_length=32)] = None,
    trace_id: Annotated[
        str | None, Query(alias="traceId", pattern=TRACE_ID, description=_TRACE_ID)
    ] = None,
    on_behalf_of: Annotated[
        str | None, Query(alias="onBehalfOf", pattern=STAFF_ID, description=_ON_BEHALF_OF)
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> AuditEntryPage:
    search = EntrySearch(
        child_ref=child_ref,
        organisation=organisation,
        purpose=purpose,
        action=action,
        outcome=outcome,
        trace_id=trace_id,
        on_behalf_of=on_behalf_of,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    return _page(session, reader, search, search.child_ref)


@router.post(
    "/entries/_search",
    summary="Search the entries you may read; name a child by BSN",
    description=_ENTRIES
    + " The gateway turns the BSN into the child's pseudonym and the pseudonym into the "
    "reference the log uses; the BSN itself is never stored or logged.",
    dependencies=[Depends(require_json)],
)
def search_entries(
    search: EntrySearch, reader: ReaderDep, session: SessionDep, key: PseudonymKeyDep
) -> AuditEntryPage:
    child_ref = search.child_ref
    if search.child is not None:
        pseudonym = bsn_pseudonym(search.child.bsn, key, at="#/child/bsn")
        found = store.find_child_reference(session, pseudonym)
        if child_ref is not None and found != child_ref:
            found = None  # two names for different children: nothing matches both
        # A child the log never named has no entries; an impossible reference keeps it so.
        child_ref = found or service.NO_SUCH_CHILD
    return _page(session, reader, search, child_ref)


def _page(
    session: Session, reader: Reader, search: EntrySearch, child_ref: str | None
) -> AuditEntryPage:
    """One page of what ``search`` selects among what ``reader`` may see; ``child_ref`` is the
    search's child, resolved from a BSN when it named one."""
    acting_for = None
    if search.on_behalf_of is not None:
        if search.organisation is None:
            raise ValidationFailedError(
                "A staff id is its organisation's own: name the organisation too.",
                errors=[{"pointer": "#/organisation", "detail": "required with on_behalf_of"}],
            )
        acting_for = (search.organisation, search.on_behalf_of)
    where = EntryFilter(
        actor_id=reader.own_actions_of,
        visible_to=reader.visible_to,
        child_ref=child_ref,
        involving=search.organisation,
        purpose=search.purpose,
        action=search.action,
        outcome=search.outcome,
        trace_id=search.trace_id,
        acting_for=acting_for,
        since=search.since,
        until=search.until,
    )
    offset, limit = search.offset, search.limit
    page = service.read_entries(session, reader.actor, where, offset=offset, limit=limit)
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
