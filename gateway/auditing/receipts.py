"""The receipt a delivery or a fetch answer carries: where its audit entry is in the log, so the
organisation keeps its own evidence of the exchange (as FSC's transaction logs on both sides do)
and can prove later, with the offline verifier, that the gateway's log holds it."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from gateway.auditing.service import Recorded

CHECKPOINT_PATH = "/api/v1/audit/checkpoint"
INCLUSION_PATH = "/api/v1/audit/proofs/inclusion"


class EntryReceipt(BaseModel):
    index: int = Field(description="The entry's index in the audit log.")
    leaf_hash: str = Field(description="The entry's RFC 6962 leaf hash, base64.")
    checkpoint: str = Field(
        description="Where the signed checkpoint (the log's size and root) is read.",
        examples=[CHECKPOINT_PATH],
    )
    inclusion_proof: str = Field(
        description="Where the proof that the entry is in the log is read: against the "
        "checkpoint now served, or add `treeSize` of a checkpoint you hold. `python -m audit "
        "check-inclusion` verifies the proof against the checkpoint offline.",
        examples=[f"{INCLUSION_PATH}?index=42"],
    )

    @classmethod
    def of(cls, recorded: Recorded) -> EntryReceipt:
        """The receipt of an entry whose action has committed."""
        return cls(
            index=recorded.index,
            leaf_hash=base64.b64encode(recorded.leaf_hash).decode(),
            checkpoint=CHECKPOINT_PATH,
            inclusion_proof=f"{INCLUSION_PATH}?index={recorded.index}",
        )
