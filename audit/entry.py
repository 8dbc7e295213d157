"""What an audit entry records, and its leaf bytes (RFC 8785 canonical JSON).

After the Dutch Logboek Dataverwerkingen and NEN 7513: who acted (and for whom, through which
client), what they did, about which child (a random per-child reference, never a BSN or its
pseudonym), for which purpose and processing activity, on which legal basis, which field
*names* and level, with what outcome and why, under which policy version, with W3C trace
context. Never a field value. The mapping is in ``audit/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit import jcs

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Actor:
    type: str  # "organisation", "user" (pseudonymous id), or "system"
    id: str
    role: str | None = None


@dataclass(frozen=True)
class Entry:
    action: str  # decision, delivery, fetch, consent.grant, ..., admin.*, audit.read
    actor: Actor
    outcome: str  # e.g. "allowed", "denied", "success"
    on_behalf_of: str | None = None
    client_id: str | None = None
    child_ref: str | None = None
    purpose: str | None = None
    processing_activity_id: str | None = None
    legal_basis: str | None = None
    fields: tuple[str, ...] = ()
    level: str | None = None
    reasons: tuple[str, ...] = ()
    policy_version: str | None = None
    exchange_id: str | None = None
    requester_id: str | None = None
    source_id: str | None = None
    emergency: bool = False
    subject: str | None = None  # what was acted on when not a child, e.g. an organisation id
    trace_id: str | None = None
    span_id: str | None = None
    # SHA-256 (hex) of the RFC 8785 form of the policy's input and answer, for a decision the
    # gateway keeps: the log commits to the record, so a changed record no longer matches.
    input_hash: str | None = None
    decision_hash: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [f for f in self.fields if not _FIELD_NAME.match(f)]
        if bad:
            raise ValueError(f"audit entries hold field names only; not names: {bad}")
        for digest in (self.input_hash, self.decision_hash):
            if digest is not None and not _SHA256_HEX.match(digest):
                raise ValueError("input_hash and decision_hash are SHA-256 digests in hex")

    def document(self, index: int, recorded_at: datetime) -> dict[str, Any]:
        return {
            "index": index,
            "timestamp": recorded_at.isoformat().replace("+00:00", "Z"),
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "actor": {"type": self.actor.type, "id": self.actor.id, "role": self.actor.role},
            "on_behalf_of": self.on_behalf_of,
            "client_id": self.client_id,
            "action": self.action,
            "subject": self.subject,
            "child_ref": self.child_ref,
            "purpose": self.purpose,
            "processing_activity_id": self.processing_activity_id,
            "legal_basis": self.legal_basis,
            "fields": sorted(self.fields),
            "level": self.level,
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            "policy_version": self.policy_version,
            "input_hash": self.input_hash,
            "decision_hash": self.decision_hash,
            "exchange_id": self.exchange_id,
            "requester_id": self.requester_id,
            "source_id": self.source_id,
            "emergency": self.emergency,
            "extra": dict(sorted(self.extra.items())),
        }


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme: the exact bytes that are hashed."""
    return jcs.canonical(document)
