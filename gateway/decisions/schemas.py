"""What ``GET /api/v1/exchanges/{id}/decisions`` answers: each kept decision, as evaluated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.decisions.models import DecisionRecord
from gateway.policy.decision import digest


class RecordedDecision(BaseModel):
    audit_index: int = Field(description="Index of the audit entry that commits to this decision.")
    action: str = Field(description="The audit entry's action: decision, delivery, fetch, ...")
    recorded_at: datetime
    package: str = Field(description="The Rego package asked, e.g. kindkoppeling.decision.")
    policy_version: str = Field(description="The policy bundle it was decided with.")
    input: dict[str, Any] = Field(description="The input document exactly as evaluated.")
    answer: dict[str, Any] = Field(description="The policy's answer.")
    input_hash: str = Field(description="SHA-256 of the input's RFC 8785 form (in the entry).")
    decision_hash: str = Field(description="SHA-256 of the answer's RFC 8785 form (in the entry).")

    @classmethod
    def of(cls, row: DecisionRecord) -> RecordedDecision:
        return cls(
            audit_index=row.audit_index,
            action=row.action,
            recorded_at=row.recorded_at,
            package=row.package,
            policy_version=row.policy_version,
            input=row.input,
            answer=row.answer,
            input_hash=digest(row.input),
            decision_hash=digest(row.answer),
        )


class RecordedDecisions(BaseModel):
    exchange_id: str
    items: list[RecordedDecision]
