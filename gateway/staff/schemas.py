"""API shapes of the staff register."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gateway.organisations.schemas import NO_CONTROL_CHARACTERS
from gateway.staff.models import StaffMember

STAFF_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
STAFF_ID_DESCRIPTION = (
    "The organisation's own pseudonymous id for this person (an employee number, say; not an "
    "e-mail address or a BSN). Audit entries name the person by it; it is never reused."
)


DisplayName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        description="How the organisation's own people know this person; shown to them only.",
        examples=["J. de Vries"],
    ),
]
StaffRole = Annotated[
    str,
    Field(
        min_length=2,
        max_length=100,
        pattern=NO_CONTROL_CHARACTERS,
        description="The person's function; parents see it in their child's history.",
        examples=["intern begeleider", "leerplichtambtenaar", "pedagogisch medewerker"],
    ),
]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(pattern=STAFF_ID, description=STAFF_ID_DESCRIPTION, examples=["ib-0042"])
    display_name: DisplayName
    role: StaffRole


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    role: StaffRole | None = None


class StaffOut(BaseModel):
    staff_id: str
    display_name: str
    role: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, member: StaffMember) -> StaffOut:
        return cls(
            staff_id=member.staff_id,
            display_name=member.display_name,
            role=member.role,
            created_at=member.created_at,
            updated_at=member.updated_at,
        )


class StaffList(BaseModel):
    items: list[StaffOut]
    total: int
