"""``GET /api/v1/statistics``: aggregate counts with small cells suppressed, for any registered
organisation (they hold no person). Every answer is a part of the one suppressed table of its
school year, so combining answers reveals nothing a single one hides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.deps import CurrentClient, SessionDep
from gateway.exchanges.deps import ExchangesDep
from gateway.one_hop import OneHopRoute
from gateway.statistics.service import Statistics, of_school_year
from gateway.statistics.suppression import THRESHOLD

router = APIRouter(route_class=OneHopRoute, prefix="/statistics", tags=["statistics"])

SCHOOL_YEAR = r"^20[0-9]{2}-20[0-9]{2}$"


class RegionOut(BaseModel):
    code: str = Field(description="The SWV's code, or <sector>-unassigned.")
    name: str
    sector: str = Field(description="PO or VO.")


class CellOut(BaseModel):
    table: str = Field(description="exchanges, signals or reference_dates.")
    category: str = Field(description="Purpose, signal type, at_home or exempted; or all.")
    region: str = Field(description="An SWV region, <sector>-unassigned, or all.")
    period: str = Field(description="A month (2026-09), year, or a reference date (2026-10-01).")
    count: int | None = Field(description=f"None when suppressed (below {THRESHOLD}, or cover).")
    suppressed: bool


class StatisticsOut(BaseModel):
    school_year: str
    threshold: int = Field(description="Cells below this are suppressed, with a complement.")
    closed_at: datetime | None = Field(
        description="When the school year ended and its table was stored: its figures no longer "
        "change. None while the year is open (counted from the records at each request)."
    )
    regions: list[RegionOut]
    cells: list[CellOut]

    @classmethod
    def of(cls, statistics: Statistics) -> StatisticsOut:
        return cls(
            school_year=statistics.school_year,
            threshold=statistics.threshold,
            closed_at=statistics.closed_at,
            regions=[
                RegionOut(code=r.code, name=r.name, sector=r.sector) for r in statistics.regions
            ],
            cells=[
                CellOut(
                    table=c.table,
                    category=c.category,
                    region=c.region,
                    period=c.period,
                    count=c.count,
                    suppressed=c.suppressed,
                )
                for c in statistics.cells
            ],
        )


@router.get("", summary="Anonymised counts per purpose, signal type, month and SWV region")
def read_statistics(
    _: CurrentClient,
    session: SessionDep,
    exchanges: ExchangesDep,
    school_year: Annotated[
        str | None,
        Query(
            alias="schoolYear",
            pattern=SCHOOL_YEAR,
            description="2026-2027; default: the current school year.",
        ),
    ] = None,
    table: Annotated[Literal["exchanges", "signals", "reference_dates"] | None, Query()] = None,
    region: Annotated[str | None, Query(max_length=16)] = None,
) -> StatisticsOut:
    statistics = of_school_year(session, exchanges, school_year)
    return StatisticsOut.of(statistics.select(table=table, region=region))
