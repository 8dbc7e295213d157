"""API shapes of the leerplicht signals, the exemption register and the at-home alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.children.schemas import ChildIdentity
from gateway.exchanges.schemas import ExchangeOut
from gateway.signals.models import AtHomeAlert, Exemption
from gateway.signals.thresholds import Signal, SignalType

GEMEENTE = Field(
    max_length=8,
    description="CBS gemeentecode of the gemeente where the child lives; its leerplicht office "
    "is the one concerned.",
    examples=["GM0344"],
)


class UnexcusedAbsence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    hours: float = Field(gt=0, le=24, description="Hours of unexcused absence on that day.")


class AbsenceReportCreate(BaseModel):
    """Absence facts from a school or SWV. The gateway applies the thresholds; only a signal,
    never these facts, reaches leerplicht. Excused absence is not reported at all."""

    model_config = ConfigDict(extra="forbid")

    child: ChildIdentity
    gemeente: str = GEMEENTE
    enrolled: bool = Field(default=True, description="Is the child enrolled at a school?")
    absent_since: date | None = Field(
        default=None,
        description="First day of a continuous absence that still lasts (enrolled children).",
    )
    not_enrolled_since: date | None = Field(
        default=None, description="Since when the child is not enrolled anywhere."
    )
    unexcused_absences: list[UnexcusedAbsence] = Field(
        default_factory=list,
        max_length=400,
        description="Unexcused absence per day, for the last weeks.",
    )


class SignalOut(BaseModel):
    type: SignalType
    since: date
    until: date | None
    unexcused_hours: float | None
    reason: str = Field(description="Which threshold was met, with the numbers.")

    @classmethod
    def of(cls, signal: Signal) -> SignalOut:
        return cls(
            type=signal.type,
            since=signal.start,
            until=signal.end,
            unexcused_hours=signal.unexcused_hours,
            reason=signal.reason,
        )


class AbsenceReportOut(BaseModel):
    signal: SignalOut | None = Field(description="None: no threshold met; nothing was sent.")
    exchange: ExchangeOut | None = Field(
        description="The verzuimmelding to leerplicht that carries the signal."
    )
    detail: str


class ExemptionCreate(BaseModel):
    """That a child is exempted, on which article and until when. There is no field for the
    reason, a diagnosis or a doctor's statement, and any other field is refused."""

    model_config = ConfigDict(extra="forbid")

    child: ChildIdentity
    exempted: Literal[True] = True
    article: str = Field(
        max_length=32,
        pattern=r"^[0-9]{1,2}[a-z]?( (onder|lid) [a-z0-9]{1,3})?$",
        description="Article of the Leerplichtwet, e.g. '5 onder a'.",
        examples=["5 onder a"],
    )
    valid_from: date | None = Field(default=None, description="Default: today.")
    valid_until: date


class ExemptionOut(BaseModel):
    id: str
    article: str
    valid_from: date
    valid_until: date
    recorded_at: datetime

    @classmethod
    def of(cls, exemption: Exemption) -> ExemptionOut:
        return cls(
            id=exemption.id,
            article=exemption.article,
            valid_from=exemption.valid_from,
            valid_until=exemption.valid_until,
            recorded_at=exemption.recorded_at,
        )


class ExemptionList(BaseModel):
    items: list[ExemptionOut]


class ExemptionCheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    child: ChildIdentity
    gemeente: str = GEMEENTE


class AlertOut(BaseModel):
    id: str
    cause: Literal["exemption", "thuiszitter"]
    since: date = Field(description="Since when the child is exempted or at home.")
    gemeente: str
    leerplicht_id: str = Field(description="The leerplicht office that holds the case.")
    case_reference: str = Field(
        description="What leerplicht knows the case by: its exemption id, or the id of the "
        "verzuimmelding it received. Other organisations ask leerplicht with it."
    )
    raised_at: datetime

    @classmethod
    def of(cls, alert: AtHomeAlert) -> AlertOut:
        return cls(
            id=alert.id,
            cause=alert.cause,
            since=alert.since,
            gemeente=alert.gemeente_code,
            leerplicht_id=alert.leerplicht_id,
            case_reference=alert.case_reference,
            raised_at=alert.raised_at,
        )


class AlertList(BaseModel):
    items: list[AlertOut]
