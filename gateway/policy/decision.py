"""What the policy is asked and what it answers, as typed values.

``DecisionInput`` is the input document of ``data.kindkoppeling.decision.decision`` (its
contract is in ``policies/README.md``); ``Decision`` is the answer, checked on the way in so a
malformed answer from an engine is an engine failure, never an allow. A ``Ruling`` keeps the
input document exactly as the engine saw it beside the answer, with the SHA-256 of each (of its
RFC 8785 canonical JSON) that the audit entry commits to, so the decision can be replayed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audit.entry import canonical
from gateway.organisations.identifiers import OrganisationRole
from gateway.policy.commitments import Commitments, committed


class Level(StrEnum):
    SIGNAL = "signal"
    SUMMARY = "summary"
    FULL = "full"


class SafetyCode(StrEnum):
    GROEN = "groen"
    ORANJE = "oranje"
    ROOD = "rood"


class Basis(StrEnum):
    CONSENT = "consent"
    LEGAL_DUTY = "legal_duty"
    PUBLIC_TASK = "public_task"
    BREAK_GLASS = "break_glass"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(_Strict):
    organisation_id: str
    role: OrganisationRole
    gemeente: str | None = Field(
        default=None, description="CBS gemeentecode where the organisation is located."
    )


class Guardian(_Strict):
    id: str = Field(description="Pseudonymous id of the parent or guardian.")
    gezag: bool = Field(description="Holds parental authority.")
    restricted: bool = Field(
        default=False, description="Marked by a shelter as never to be asked or shown anything."
    )
    accompanying: bool = Field(
        default=False, description="The parent who is with the child in the shelter."
    )


class Subject(_Strict):
    age: int = Field(ge=0, le=30)
    safety_code: SafetyCode | None = None
    placement_confirmed: bool = Field(
        default=False, description="A school has offered a place (staged disclosure)."
    )
    guardians: list[Guardian] = Field(default_factory=list, max_length=10)


class ConsentScope(_Strict):
    """Every organisation of a role located in one of these gemeenten (a consent given ahead of
    time, e.g. "every primary school in our region")."""

    role: OrganisationRole
    gemeenten: list[str] = Field(min_length=1, max_length=400)


class ConsentFact(_Strict):
    id: str
    purpose: str
    grantee: str | None = Field(
        default=None, description="Organisation id the consent is given to (or a scope)."
    )
    scope: ConsentScope | None = None
    standing: bool = Field(default=False, description="Given ahead of time, not to a request.")
    grantors: list[str] = Field(description="Guardian ids, or 'child'.")
    fields: list[str]
    level: Level
    status: Literal["proposed", "active", "declined", "revoked", "expired"]
    valid_from: datetime
    valid_until: datetime


class BreakGlass(_Strict):
    justification: str


class DecisionInput(_Strict):
    purpose: str
    initiator: Literal["recipient", "source"]
    recipient: Party
    source: Party
    requested_fields: list[str] = Field(max_length=100)
    requested_level: Level | None = None
    reason: str | None = None
    break_glass: BreakGlass | None = None
    subject: Subject
    consents: list[ConsentFact] = Field(default_factory=list)
    now: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def document(self) -> dict[str, Any]:
        """The policy input: plain JSON types, times as Unix seconds."""
        doc = self.model_dump(mode="json")
        doc["now"] = int(self.now.timestamp())
        doc["consents"] = [
            {
                **c.model_dump(mode="json"),
                "valid_from": int(c.valid_from.timestamp()),
                "valid_until": int(c.valid_until.timestamp()),
            }
            for c in self.consents
        ]
        return doc


class Obligation(_Strict):
    type: Literal["await_consent", "inform_parents", "review_break_glass"]
    holders: list[str] | None = None
    parties: list[str] | None = None


class Decision(_Strict):
    allow: bool
    purpose: str
    basis: Basis | None
    level: Level | None
    fields: list[str]
    stripped: dict[str, str]
    reasons: list[str]
    obligations: list[Obligation]
    retention_days: int | None
    consents_relied: list[str] = Field(
        default_factory=list, description="The ids of the consents this decision counted."
    )
    policy_version: str

    @property
    def awaiting_consent(self) -> bool:
        return any(o.type == "await_consent" for o in self.obligations)

    @property
    def outcome(self) -> Literal["allow", "await_consent", "deny"]:
        if self.allow:
            return "allow"
        return "await_consent" if self.awaiting_consent else "deny"


class MalformedDecisionError(ValueError):
    """The engine answered something that is not a decision document."""


_Answer = TypeVar("_Answer", bound=BaseModel)


def parse_answer(model: type[_Answer], document: Any, policy_version: str) -> _Answer:
    """Validate an engine's answer as ``model``, stamped with the bundle's version."""
    if not isinstance(document, dict):
        raise MalformedDecisionError(f"the policy returned no {model.__name__} document")
    try:
        return model.model_validate({**document, "policy_version": policy_version})
    except ValidationError as exc:
        raise MalformedDecisionError(f"the {model.__name__} document is malformed: {exc}") from exc


def digest(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of a JSON document's RFC 8785 canonical form."""
    return hashlib.sha256(canonical(document)).hexdigest()


@dataclass(frozen=True)
class Ruling(Generic[_Answer]):
    """One evaluation: which package was asked, the input document and the checked answer."""

    package: str
    input: dict[str, Any]
    answer: _Answer
    document: dict[str, Any] = field(init=False, repr=False)  # the answer as stored (JSON)
    # Salted commitments to the facts a party may not see (gateway.policy.commitments).
    commitments: Commitments = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "document", self.answer.model_dump(mode="json"))

    @property
    def policy_version(self) -> str:
        return str(self.document["policy_version"])

    @property
    def input_hash(self) -> str:
        """SHA-256 of the input as committed to: each withholdable fact by its salted hash."""
        return digest(committed(self.input, self.commitments))

    @property
    def decision_hash(self) -> str:
        return digest(self.document)


class SafetyChange(_Strict):
    """Input of ``data.kindkoppeling.safety.decision``."""

    actor: Party
    current_code: SafetyCode | None
    set_by: str | None
    new_code: SafetyCode


class GuardiansChange(_Strict):
    """Input of ``data.kindkoppeling.guardians.decision``."""

    actor: Party
    changes_restriction: bool


class Permission(_Strict):
    """A yes or no with its reasons: the answer to a safety-code or guardians change."""

    allow: bool
    reasons: list[str]
    policy_version: str
