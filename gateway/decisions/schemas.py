"""What ``GET /api/v1/exchanges/{id}/decisions`` answers: each kept decision, as its reader may
see it (ADR 0013). The outcome, reasons, fields, bundle version and both hashes are the same for
everyone; of the input, a party sees what it supplied itself and what it may know under the
purpose. Facts the other party supplied about the child's household, and its free text, are
replaced by ``WITHHELD``, and ``commitments`` lets the reader rebuild the hashed document and
check ``input_hash`` all the same. Privacy officers and replay read the records whole."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.decisions.models import DecisionRecord
from gateway.policy.commitments import commit, get, put
from gateway.policy.decision import digest

WITHHELD = {"withheld": "supplied by the other party; not shown to you"}


class RecordedDecision(BaseModel):
    audit_index: int = Field(description="Index of the audit entry that commits to this decision.")
    action: str = Field(description="The audit entry's action: decision, delivery, fetch, ...")
    recorded_at: datetime
    package: str = Field(description="The Rego package asked, e.g. kindkoppeling.decision.")
    policy_version: str = Field(description="The policy bundle it was decided with.")
    input: dict[str, Any] = Field(
        description="The input document as evaluated, with the facts you may not see replaced "
        f"by `{WITHHELD}`."
    )
    commitments: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="By JSON pointer into `input`, each fact the hash commits to by a salted "
        "hash: `salt` (base64) when the fact is shown to you, `commitment` (`sha256:<hex>`) "
        "when it is withheld. Rebuild the hashed document by putting `sha256:` + hex SHA-256 "
        "of the salt's bytes and the fact's RFC 8785 JSON at each shown pointer, and the "
        "commitment at each withheld one; its RFC 8785 SHA-256 is `input_hash`.",
    )
    answer: dict[str, Any] = Field(description="The policy's answer.")
    input_hash: str = Field(
        description="SHA-256 of the RFC 8785 form of the input as committed to (in the entry)."
    )
    decision_hash: str = Field(description="SHA-256 of the answer's RFC 8785 form (in the entry).")

    @classmethod
    def of(cls, row: DecisionRecord, reader: str | None) -> RecordedDecision:
        """The record as ``reader`` (an organisation id) may see it; None: whole, with every
        salt (privacy officers)."""
        shown, proofs = view(row.input, row.commitments or {}, reader)
        return cls(
            audit_index=row.audit_index,
            action=row.action,
            recorded_at=row.recorded_at,
            package=row.package,
            policy_version=row.policy_version,
            input=shown,
            commitments=proofs,
            answer=row.answer,
            input_hash=row.input_hash,
            decision_hash=digest(row.answer),
        )


def view(
    document: dict[str, Any], commitments: dict[str, dict[str, str]], reader: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The input as ``reader`` may see it, and for each committed fact its salt (shown) or its
    commitment (withheld)."""
    shown = copy.deepcopy(document)
    proofs = {}
    for pointer, commitment in commitments.items():
        if reader is None or commitment["by"] == reader:
            proofs[pointer] = {"salt": commitment["salt"]}
        else:
            proofs[pointer] = {"commitment": commit(get(document, pointer), commitment["salt"])}
            put(shown, pointer, WITHHELD)
    return shown, proofs


class RecordedDecisions(BaseModel):
    exchange_id: str
    items: list[RecordedDecision]
