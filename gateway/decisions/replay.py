"""Replaying kept decisions: each recorded input, under the bundle it was decided with.

For each record: the audit entry it hangs from must still hash to the tree's leaf, and commit
to this input and this answer (``input_hash``, ``decision_hash``, ``policy_version``); the
bundle, rebuilt from its stored files, must hash to its version; and evaluating the input under
it must give the recorded answer. Anything else is reported, naming the decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from audit import merkle, store
from gateway.decisions.models import DecisionRecord, PolicyBundleRecord
from gateway.policy.bundle import PolicyBundle
from gateway.policy.decision import (
    Decision,
    MalformedDecisionError,
    Permission,
    digest,
    parse_answer,
)
from gateway.policy.engines import (
    DECISION_PACKAGE,
    GUARDIANS_PACKAGE,
    SAFETY_PACKAGE,
    PolicyEngineError,
    RegorusEngine,
)

ANSWERS: dict[str, type[BaseModel]] = {
    DECISION_PACKAGE: Decision,
    SAFETY_PACKAGE: Permission,
    GUARDIANS_PACKAGE: Permission,
}
BATCH = 200


@dataclass(frozen=True)
class Replayed:
    record: DecisionRecord
    faults: list[str] = field(default_factory=list)  # the record no longer proves itself
    # What differs between the recorded answer and the answer now: key -> (recorded, now).
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.faults and not self.differences


def records(*, exchange_id: str | None = None, since: datetime | None = None) -> Select[Any]:
    """The kept decisions to replay, oldest first: of one exchange, since a moment, or all."""
    query = select(DecisionRecord).order_by(DecisionRecord.audit_index)
    if exchange_id is not None:
        query = query.where(DecisionRecord.exchange_id == exchange_id)
    if since is not None:
        query = query.where(DecisionRecord.recorded_at >= since)
    return query


class Replayer:
    """Replays records, building each bundle's engine once (per version) for the run."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._engines: dict[str, RegorusEngine | str] = {}  # version -> engine, or why not

    def replay(self, rows: Iterable[DecisionRecord]) -> Iterator[Replayed]:
        batch: list[DecisionRecord] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                yield from self._replay_batch(batch)
                batch = []
        yield from self._replay_batch(batch)

    def _replay_batch(self, batch: list[DecisionRecord]) -> Iterator[Replayed]:
        leaves = store.leaves(self._session, [row.audit_index for row in batch])
        for row in batch:
            faults = self._check_entry(row, leaves.get(row.audit_index))
            engine = self._engine(row.policy_version)
            if isinstance(engine, str):
                yield Replayed(row, [*faults, engine])
                continue
            try:
                model = ANSWERS[row.package]
                raw = engine.evaluate(row.input, row.package)
                now = parse_answer(model, raw, row.policy_version).model_dump(mode="json")
            except (KeyError, PolicyEngineError, MalformedDecisionError) as exc:
                yield Replayed(row, [*faults, f"the recorded bundle could not evaluate it: {exc}"])
                continue
            differences = {
                key: (row.answer.get(key), now.get(key))
                for key in sorted(set(row.answer) | set(now))
                if row.answer.get(key) != now.get(key)
            }
            yield Replayed(row, faults, differences)

    def _check_entry(self, row: DecisionRecord, leaf: tuple[bytes, bytes] | None) -> list[str]:
        if leaf is None:
            return [f"audit entry {row.audit_index} does not exist"]
        raw, tree_hash = leaf
        if merkle.leaf_hash(raw) != tree_hash:
            return [f"audit entry {row.audit_index} was changed after it was appended"]
        entry = json.loads(raw)
        faults = []
        if entry.get("input_hash") != row.input_hash:
            faults.append(f"the stored input does not match audit entry {row.audit_index}")
        if entry.get("decision_hash") != digest(row.answer):
            faults.append(f"the stored answer does not match audit entry {row.audit_index}")
        if entry.get("policy_version") != row.policy_version:
            faults.append(f"the bundle version does not match audit entry {row.audit_index}")
        if entry.get("exchange_id") != row.exchange_id:
            faults.append(f"the exchange does not match audit entry {row.audit_index}")
        return faults

    def _engine(self, version: str) -> RegorusEngine | str:
        if version not in self._engines:
            self._engines[version] = self._build(version)
        return self._engines[version]

    def _build(self, version: str) -> RegorusEngine | str:
        stored = self._session.get(PolicyBundleRecord, version)
        if stored is None:
            return f"the bundle {version} is not kept"
        try:
            bundle = PolicyBundle.from_files(stored.files)
        except (ValueError, FileNotFoundError) as exc:
            return f"the kept bundle {version} cannot be read: {exc}"
        if bundle.version != version:
            return f"the kept bundle {version} was changed: its files hash to {bundle.version}"
        try:
            return RegorusEngine(bundle)
        except BaseException as exc:  # a regorus panic is a BaseException
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return f"the kept bundle {version} does not load: {exc}"
