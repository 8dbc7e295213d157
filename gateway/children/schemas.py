"""How a request names a child: by BSN and birth date, or by an earlier exchange."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChildIdentity(BaseModel):
    """Name the child by BSN and birth date, or by an earlier exchange you took part in."""

    model_config = ConfigDict(extra="forbid")

    bsn: str | None = Field(
        default=None,
        max_length=16,
        description="The child's BSN (elfproef).",
        examples=["111222333"],
    )
    birth_date: date | None = Field(default=None, json_schema_extra={"format": "date"})
    exchange_id: str | None = Field(
        default=None, max_length=64, description="An earlier exchange about the same child."
    )

    @model_validator(mode="after")
    def _one_way(self) -> ChildIdentity:
        by_bsn = self.bsn is not None or self.birth_date is not None
        if by_bsn == (self.exchange_id is not None):
            raise ValueError("give either bsn with birth_date, or exchange_id")
        if by_bsn and (self.bsn is None or self.birth_date is None):
            raise ValueError("bsn and birth_date go together")
        return self
