"""Witnesses: every new checkpoint goes to the configured witnesses (C2SP tlog-witness), their
cosignatures are kept beside it, and what they refused is told to the operator and officers.

A witness cosigns a checkpoint only if it extends the last one it cosigned for this log, so:

- a log shown to one reader and another log shown to the next (a fork) cannot both collect a
  quorum: the witness that saw one branch refuses the other (422, ``inconsistent``);
- a database restored from an older backup is smaller than what the witnesses cosigned: they
  answer 409 with their larger size (``rollback``), and keep refusing until the operator
  resolves it (README, "Restoring a backup").

Submission runs in maintenance, off the request path; ``GET /api/v1/audit/checkpoint`` serves
the latest checkpoint a quorum has cosigned, with their signature lines in the note.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from audit import store
from audit.checkpoint import Checkpoint
from audit.cosignature import Witness, cosigned_by, with_cosignatures
from audit.note import NoteError, split_note
from audit.tables import witness_state
from audit.witness import SIZE_MEDIA_TYPE, request_body

log = structlog.get_logger(__name__)


class Outcome(enum.StrEnum):
    COSIGNED = "cosigned"  # the witness cosigned the latest checkpoint
    UNREACHABLE = "unreachable"  # no answer; tried again at the next run
    REFUSED = "refused"  # an answer that is neither a cosignature nor a verdict on the log
    INCONSISTENT = "inconsistent"  # the witness saw another history of this log
    ROLLBACK = "rollback"  # the witness cosigned a larger tree than the log now has


# Outcomes that mean the log's history is in doubt, not that a witness is merely unavailable.
ALARMS = frozenset({Outcome.INCONSISTENT, Outcome.ROLLBACK})


@dataclass(frozen=True)
class WitnessEndpoint:
    witness: Witness
    url: str  # the submission prefix; the gateway POSTs to <url>/add-checkpoint

    @property
    def key(self) -> str:
        return self.witness.encode()


@dataclass(frozen=True)
class Witnesses:
    """The witnesses this gateway asks, and how many of them must cosign (the quorum)."""

    endpoints: tuple[WitnessEndpoint, ...] = ()
    quorum: int = 0
    timeout: float = 5.0

    @classmethod
    def parse(cls, text: str | None, quorum: int | None = None) -> Witnesses:
        """``<witness verifier key>=<base URL>``, separated by spaces; quorum default: all."""
        endpoints = []
        for item in (text or "").split():
            vkey, separator, url = item.partition("=")
            if not separator or not url.startswith(("http://", "https://")):
                raise ValueError(f"a witness is <verifier key>=<base URL>, not {item!r}")
            try:
                endpoints.append(WitnessEndpoint(Witness.decode(vkey), url.rstrip("/")))
            except NoteError as exc:
                raise ValueError(f"witness key {vkey!r}: {exc}") from exc
        wanted = len(endpoints) if quorum is None else quorum
        if endpoints and not 1 <= wanted <= len(endpoints):
            raise ValueError(f"the witness quorum must be 1 to {len(endpoints)}, not {wanted}")
        return cls(tuple(endpoints), wanted if endpoints else 0)

    @property
    def configured(self) -> bool:
        return bool(self.endpoints)

    @property
    def keys(self) -> list[str]:
        return [endpoint.key for endpoint in self.endpoints]


@dataclass(frozen=True)
class WitnessStatus:
    name: str
    url: str
    tree_size: int  # the size this witness last cosigned, as far as the log knows
    outcome: Outcome | None  # None: never asked
    detail: str | None
    checked_at: datetime | None


@dataclass(frozen=True)
class Witnessing:
    """Where the log stands with its witnesses, for readiness, the officer page and the CLI."""

    quorum: int
    signed_size: int | None  # the latest signed checkpoint
    signed_at: datetime | None
    cosigned_size: int | None  # the latest one that reached the quorum
    statuses: tuple[WitnessStatus, ...]

    @property
    def waiting(self) -> bool:
        """The latest signed checkpoint has not reached the quorum (yet)."""
        return self.signed_size is not None and self.signed_size != self.cosigned_size

    @property
    def alarms(self) -> list[WitnessStatus]:
        return [s for s in self.statuses if s.outcome in ALARMS]


def submit_latest(
    session: Session, witnesses: Witnesses, client: httpx.Client | None = None
) -> list[WitnessStatus]:
    """Send the latest signed checkpoint to every witness that has not cosigned it, all at
    once (a slow witness holds up no other), keep what they answer, and commit."""
    note = store.latest_checkpoint(session)
    if note is None or not witnesses.configured:
        return []
    checkpoint = Checkpoint.parse_body(split_note(note)[0])
    size = checkpoint.tree_size
    statuses = _statuses(session, witnesses.endpoints)
    current = {e.key: status for e, status in zip(witnesses.endpoints, statuses, strict=True)}
    asked = [
        endpoint
        for endpoint in witnesses.endpoints
        if current[endpoint.key].tree_size != size
        or not store.cosignature_lines(session, size, [endpoint.key])
    ]
    # The conversations run in threads; the session stays on this thread. A conversation
    # that needs another consistency proof asks for it here, one at a time.
    lock = threading.Lock()

    def prove(known: int) -> list[bytes]:
        with lock:
            return store.consistency_proof(session, known, size)

    owned = client is None
    http = client or httpx.Client(timeout=witnesses.timeout)
    try:
        with ThreadPoolExecutor(max(1, len(asked))) as pool:
            answers = list(
                pool.map(
                    lambda e: _converse(e, note, size, current[e.key].tree_size, prove, http),
                    asked,
                )
            )
    finally:
        if owned:
            http.close()
    for endpoint, answer in zip(asked, answers, strict=True):
        current[endpoint.key] = _record(session, endpoint, checkpoint, note, answer)
    session.commit()
    return list(current.values())


@dataclass(frozen=True)
class _Answer:
    """How a conversation with one witness ended: the size to keep for it, and either its
    answer (a cosignature to check) or an outcome with why."""

    tree_size: int
    outcome: Outcome
    detail: str | None = None
    body: str | None = None


def _converse(
    endpoint: WitnessEndpoint,
    note: str,
    size: int,
    stored: int,
    prove: Callable[[int], list[bytes]],
    http: httpx.Client,
) -> _Answer:
    known = stored if stored <= size else 0  # the witness will say what it holds
    for _ in range(3):  # the size we knew, the size the witness says it knows, one more
        proof = prove(known) if 0 < known < size else []
        try:
            response = http.post(
                f"{endpoint.url}/add-checkpoint", content=request_body(known, proof, note)
            )
        except httpx.HTTPError as exc:
            return _Answer(known, Outcome.UNREACHABLE, type(exc).__name__)
        answer = response.text.strip()[:500]
        if response.status_code == 200:
            return _Answer(known, Outcome.COSIGNED, body=response.text)
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(
            SIZE_MEDIA_TYPE
        ):
            theirs = int(answer) if answer.isdigit() else -1
            if theirs > size:
                # Kept at the size we knew, so the witness is asked again next time: only its
                # operator can decide to accept this log as the continuation (README, restore).
                return _Answer(
                    stored,
                    Outcome.ROLLBACK,
                    f"{endpoint.witness.name} has cosigned {theirs} entries of this log, which "
                    f"now has {size}: the log was rolled back, for instance restored from an "
                    "older backup",
                )
            if theirs == known or theirs < 0:
                detail = f"{endpoint.witness.name} cosigned another tree of size {known}"
                return _Answer(known, Outcome.INCONSISTENT, detail)
            known = theirs
            continue
        if response.status_code == 422:
            detail = f"{endpoint.witness.name} answered: {answer}"
            return _Answer(known, Outcome.INCONSISTENT, detail)
        return _Answer(known, Outcome.REFUSED, f"HTTP {response.status_code}: {answer}")
    return _Answer(known, Outcome.REFUSED, "the witness keeps changing its size")


def _record(
    session: Session,
    endpoint: WitnessEndpoint,
    checkpoint: Checkpoint,
    note: str,
    answer: _Answer,
) -> WitnessStatus:
    if answer.body is not None:
        return _cosigned(session, endpoint, checkpoint, note, answer.body, answer.tree_size)
    return _keep(session, endpoint, answer.tree_size, answer.outcome, answer.detail)


def _cosigned(
    session: Session,
    endpoint: WitnessEndpoint,
    checkpoint: Checkpoint,
    note: str,
    body: str,
    known: int,
) -> WitnessStatus:
    lines = [line + "\n" for line in body.splitlines() if line]
    for line in lines:
        try:
            found = cosigned_by(note + line, [endpoint.witness])
        except NoteError:
            continue
        if endpoint.key in found:
            at = datetime.fromtimestamp(found[endpoint.key], UTC)
            store.add_cosignature(session, checkpoint.tree_size, endpoint.key, line, at)
            return _keep(session, endpoint, checkpoint.tree_size, Outcome.COSIGNED, None)
    detail = "the answer holds no valid cosignature by this witness's key"
    return _keep(session, endpoint, known, Outcome.REFUSED, detail)


def _keep(
    session: Session,
    endpoint: WitnessEndpoint,
    tree_size: int,
    outcome: Outcome,
    detail: str | None,
) -> WitnessStatus:
    now = datetime.now(UTC)
    values = {"tree_size": tree_size, "outcome": outcome.value, "detail": detail, "checked_at": now}
    changed = session.execute(
        update(witness_state).where(witness_state.c.witness == endpoint.key).values(**values)
    )
    if not getattr(changed, "rowcount", 0):
        session.execute(insert(witness_state).values(witness=endpoint.key, **values))
    if outcome is not Outcome.COSIGNED:
        log.warning("witness_refused", witness=endpoint.witness.name, outcome=outcome.value)
    return WitnessStatus(endpoint.witness.name, endpoint.url, tree_size, outcome, detail, now)


def _statuses(session: Session, endpoints: Sequence[WitnessEndpoint]) -> tuple[WitnessStatus, ...]:
    """What the log last heard from each witness, in the order given (one query)."""
    rows = {
        row.witness: row
        for row in session.execute(
            select(witness_state).where(witness_state.c.witness.in_([e.key for e in endpoints]))
        )
    }
    found = []
    for endpoint in endpoints:
        row = rows.get(endpoint.key)
        if row is None:
            found.append(WitnessStatus(endpoint.witness.name, endpoint.url, 0, None, None, None))
            continue
        found.append(
            WitnessStatus(
                endpoint.witness.name,
                endpoint.url,
                int(row.tree_size),
                Outcome(row.outcome),
                row.detail,
                store.as_utc(row.checked_at),
            )
        )
    return tuple(found)


def alarms(session: Session, witnesses: Witnesses) -> list[WitnessStatus]:
    """The witnesses whose last answer put the log's history in doubt."""
    return [s for s in _statuses(session, witnesses.endpoints) if s.outcome in ALARMS]


def cosigned_checkpoint(session: Session, witnesses: Witnesses) -> str | None:
    """The latest checkpoint the quorum has cosigned, with their cosignature lines."""
    size = store.latest_cosigned_size(session, witnesses.keys, witnesses.quorum)
    note = None if size is None else store.checkpoint_note(session, size)
    if size is None or note is None:
        return None
    return with_cosignatures(note, store.cosignature_lines(session, size, witnesses.keys))


def standing(session: Session, witnesses: Witnesses) -> Witnessing:
    latest = store.latest_checkpoint_time(session)
    return Witnessing(
        quorum=witnesses.quorum,
        signed_size=None if latest is None else latest[0],
        signed_at=None if latest is None else latest[1],
        cosigned_size=store.latest_cosigned_size(session, witnesses.keys, witnesses.quorum),
        statuses=_statuses(session, witnesses.endpoints),
    )
