"""The statistics table of one school year, built from the gateway's records and suppressed
as a whole (:mod:`gateway.statistics.suppression`).

Cells are ``(table, category, region, period)``:

- ``exchanges``: exchanges the policy did not deny, per purpose, by the month they were made;
- ``signals``: verzuim signals delivered to leerplicht, per signal type, by month;
- ``reference_dates``: children at home (a thuiszitter or not-enrolled signal whose period
  had begun, less than a year before, with no school place since) and children exempted, on
  1 October and 1 February, the reference dates of the yearly reporting. A child is counted
  once per cell.

Monthly tables have a ``year`` period (the school year, August to July) and an ``all``
category. Regions are the registered SWVs, an ``all`` region, and per sector (PO, VO) an
``<sector>-unassigned`` region for whatever lies in no registered region of that sector, so
the regions of a sector add up to ``all``. An event lies in a region through a gemeente: a
signal through the child's gemeente, an exchange through its recipient's (an SWV recipient is
its own region). Reference dates that have not come yet are left out.

A school year that has closed is answered from its stored table
(:class:`~gateway.statistics.models.StatisticsSnapshot`), which the maintenance run writes once
the year is over (:func:`close_ended_years`); only the current year, and a closed year the
maintenance run has not reached yet, are counted from the records.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.errors import ValidationFailedError
from gateway.exchanges.models import Exchange, ExchangeStatus
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.signals.models import AbsenceSignal, Exemption
from gateway.signals.service import AT_HOME, placed_between
from gateway.signals.thresholds import SignalType
from gateway.statistics.models import StatisticsSnapshot
from gateway.statistics.suppression import THRESHOLD, Group, suppress

ALL = "all"
YEAR = "year"
SIGNAL_HISTORY = timedelta(days=365)  # a thuiszitter signal older than this no longer counts
Key = tuple[str, str, str, str]  # table, category, region, period
REFERENCE_CATEGORIES = ("at_home", "exempted")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    sector: str  # "PO" or "VO"


@dataclass(frozen=True)
class Cell:
    table: str
    category: str
    region: str
    period: str
    count: int | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class Statistics:
    school_year: str
    regions: list[Region]
    cells: list[Cell]
    threshold: int = THRESHOLD
    closed_at: datetime | None = None  # when the year's table was stored; None: counted now

    def count(self, table: str, category: str, region: str, period: str) -> int | None:
        """One cell's count; None when suppressed (or absent from this part of the table)."""
        return self._index.get((table, category, region, period))

    @cached_property
    def _index(self) -> dict[Key, int | None]:
        return {(c.table, c.category, c.region, c.period): c.count for c in self.cells}

    def periods(self, table: str) -> list[str]:
        return list(dict.fromkeys(c.period for c in self.cells if c.table == table))

    def categories(self, table: str) -> list[str]:
        return list(dict.fromkeys(c.category for c in self.cells if c.table == table))

    def to_csv(self) -> str:
        """One row per cell; a suppressed count is empty, with suppressed=1."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            ["school_year", "table", "category", "region", "period", "count", "suppressed"]
        )
        for c in self.cells:
            count = "" if c.count is None else c.count
            writer.writerow(
                [
                    self.school_year,
                    c.table,
                    c.category,
                    c.region,
                    c.period,
                    count,
                    int(c.suppressed),
                ]
            )
        return out.getvalue()

    def select(self, table: str | None = None, region: str | None = None) -> Statistics:
        """A part of the one suppressed table (never a recount, so never a new margin)."""
        kept = [
            c
            for c in self.cells
            if (table is None or c.table == table) and (region is None or c.region == region)
        ]
        return Statistics(self.school_year, self.regions, kept, self.threshold, self.closed_at)


def school_year_of(day: date) -> int:
    """The year the school year containing ``day`` starts in (it starts on 1 August)."""
    return day.year if day.month >= 8 else day.year - 1


def months_of(start_year: int) -> list[str]:
    return [f"{start_year + (m < 8)}-{m:02d}" for m in (*range(8, 13), *range(1, 8))]


def reference_dates(start_year: int) -> list[date]:
    return [date(start_year, 10, 1), date(start_year + 1, 2, 1)]


def of_school_year(session: Session, exchanges: Exchanges, school_year: str | None) -> Statistics:
    """The statistics of ``school_year`` ("2026-2027"), by default the current one on the
    exchange service's clock; two years that do not follow each other are a 422."""
    today = exchanges.clock().date()
    start = school_year_start(school_year) if school_year else school_year_of(today)
    stored = session.get(StatisticsSnapshot, _name(start))
    if stored is not None:
        return Statistics(
            school_year=stored.school_year,
            regions=[Region(**region) for region in stored.regions],
            cells=[Cell(*cell) for cell in stored.cells],
            threshold=stored.threshold,
            closed_at=stored.closed_at,
        )
    return build(session, exchanges.decider.bundle.data["purposes"], start, today)


def close_ended_years(session: Session, exchanges: Exchanges) -> list[str]:
    """Store the table of every school year that has ended and has none stored yet, from the
    first year the records reach; returns the years stored. Idempotent, and one lookup once the
    last ended year is stored. The caller commits."""
    today = exchanges.clock().date()
    if session.get(StatisticsSnapshot, _name(school_year_of(today) - 1)) is not None:
        return []  # years are stored in order, so the last one stored means all are
    earliest = [
        session.scalar(select(func.min(Exchange.created_at))),
        session.scalar(select(func.min(AbsenceSignal.since))),
        session.scalar(select(func.min(Exemption.valid_from))),
    ]
    days = [d.date() if isinstance(d, datetime) else d for d in earliest if d is not None]
    if not days:
        return []
    stored = set(session.scalars(select(StatisticsSnapshot.school_year)))
    closed = []
    for start in range(school_year_of(min(days)), school_year_of(today)):
        if _name(start) in stored:
            continue
        table = build(session, exchanges.decider.bundle.data["purposes"], start, today)
        session.add(
            StatisticsSnapshot(
                school_year=table.school_year,
                threshold=table.threshold,
                regions=[asdict(region) for region in table.regions],
                cells=[[c.table, c.category, c.region, c.period, c.count] for c in table.cells],
                closed_at=exchanges.clock(),
            )
        )
        closed.append(table.school_year)
    return closed


def last_year_counting(record: AbsenceSignal | Exemption) -> int:
    """The last school year (by the year it starts in) whose table can count ``record``: the
    year a signal was reported in, or a later one whose reference dates still count it as at
    home; the year an exemption ends in."""
    if isinstance(record, Exemption):
        return school_year_of(record.valid_until)
    last = record.reported_at.date()
    if record.signal_type in AT_HOME:
        last = max(last, record.since + SIGNAL_HISTORY)
    return school_year_of(last)


def closed_years(session: Session) -> set[int]:
    """The school years (by the year they start in) whose tables are stored."""
    return {int(name[:4]) for name in session.scalars(select(StatisticsSnapshot.school_year))}


def _name(start_year: int) -> str:
    return f"{start_year}-{start_year + 1}"


def school_year_start(school_year: str) -> int:
    first, second = (int(part) for part in school_year.split("-"))
    if second != first + 1:
        raise ValidationFailedError(
            "A school year runs from August to July of the next year, like 2026-2027.",
            errors=[{"parameter": "school_year", "in": "query", "detail": "not consecutive years"}],
        )
    return first


def build(session: Session, purposes: Iterable[str], start_year: int, today: date) -> Statistics:
    """The suppressed statistics of the school year starting in August of ``start_year``."""
    organisations = {o.id: o for o in session.scalars(select(Organisation))}
    regions, placement = _regions(organisations.values())
    layout = _Layout(
        regions=[ALL, *(r.code for r in regions)],
        sectors={r.sector: [x.code for x in regions if x.sector == r.sector] for r in regions},
        months=months_of(start_year),
        days=[d.isoformat() for d in reference_dates(start_year) if d <= today],
        categories={"exchanges": sorted(purposes), "signals": [t.value for t in SignalType]},
    )
    counts: Counter[Key] = Counter()
    first, last = _moment(date(start_year, 8, 1)), _moment(date(start_year + 1, 8, 1))
    # Exchanges per purpose, in the region of their recipient.
    made = select(Exchange.purpose, Exchange.recipient_id, Exchange.created_at).where(
        Exchange.created_at >= first,
        Exchange.created_at < last,
        Exchange.status != ExchangeStatus.DENIED,
    )
    for purpose, recipient_id, created in session.execute(made):
        where = placement.of_organisation(organisations[recipient_id])
        _tally(counts, "exchanges", purpose, where, _month(created))
    # Signals per type, in the region of the child's gemeente.
    sent = select(
        AbsenceSignal.signal_type, AbsenceSignal.gemeente_code, AbsenceSignal.reported_at
    ).where(AbsenceSignal.reported_at >= first, AbsenceSignal.reported_at < last)
    for signal_type, gemeente, reported in session.execute(sent):
        where = placement.of_gemeente(gemeente)
        _tally(counts, "signals", signal_type.value, where, _month(reported))
    # Children at home and children exempted on each reference date that has come.
    for day in layout.days:
        for category, children in _on_reference_date(session, date.fromisoformat(day)).items():
            for gemeente, child_ids in children.items():
                for region in placement.of_gemeente(gemeente):
                    counts[("reference_dates", category, region, day)] += len(child_ids)

    keys = layout.keys()
    cells = {key: counts[key] for key in keys}
    hidden = suppress(cells, layout.groups())
    return Statistics(
        school_year=_name(start_year),
        regions=regions,
        cells=[Cell(*key, count=None if key in hidden else cells[key]) for key in keys],
    )


def _tally(counts: Counter[Key], table: str, category: str, regions: list[str], month: str) -> None:
    """One event: in its category and in ``all``, in its month and in the year, per region."""
    for region in regions:
        for each in (category, ALL):
            for period in (month, YEAR):
                counts[(table, each, region, period)] += 1


@dataclass(frozen=True)
class _Layout:
    """Which cells the table has, and which of them add up to which."""

    regions: list[str]  # "all" first
    sectors: dict[str, list[str]]  # sector -> its regions, which add up to "all"
    months: list[str]
    days: list[str]  # reference dates that have come
    categories: dict[str, list[str]]  # monthly table -> its categories

    def keys(self) -> list[Key]:
        keys: list[Key] = []
        for table, categories in self.categories.items():
            for category in [ALL, *categories]:
                for period in (*self.months, YEAR):
                    keys += [(table, category, region, period) for region in self.regions]
        for day in self.days:
            for category in REFERENCE_CATEGORIES:
                keys += [("reference_dates", category, region, day) for region in self.regions]
        return keys

    def groups(self) -> list[Group[Key]]:
        groups: list[Group[Key]] = []
        for table, categories in self.categories.items():
            for category in [ALL, *categories]:
                for period in (*self.months, YEAR):
                    groups += self._by_region(table, category, period)
                for region in self.regions:
                    months = [(table, category, region, m) for m in self.months]
                    groups.append(Group((table, category, region, YEAR), months))
            for region in self.regions:
                for period in (*self.months, YEAR):
                    parts = [(table, c, region, period) for c in categories]
                    groups.append(Group((table, ALL, region, period), parts))
        for day in self.days:
            for category in REFERENCE_CATEGORIES:
                # A child can be both at home and exempted: categories do not add up.
                groups += self._by_region("reference_dates", category, day)
        return groups

    def _by_region(self, table: str, category: str, period: str) -> list[Group[Key]]:
        return [
            Group((table, category, ALL, period), [(table, category, r, period) for r in parts])
            for parts in self.sectors.values()
        ]


@dataclass(frozen=True)
class _Placement:
    """Which regions an event lies in: its SWV region per sector, or that sector's
    ``unassigned`` region; and always ``all``."""

    by_gemeente: dict[str, dict[str, str]]  # gemeente -> sector -> SWV code
    sectors: list[str]

    def of_gemeente(self, gemeente: str | None, own: Organisation | None = None) -> list[str]:
        found = self.by_gemeente.get(gemeente or "", {})
        regions = [ALL]
        for sector in self.sectors:
            if own is not None and own.identifier.startswith(sector):
                regions.append(own.identifier)
            else:
                regions.append(found.get(sector, f"{sector}-unassigned"))
        return regions

    def of_organisation(self, organisation: Organisation) -> list[str]:
        if organisation.role is OrganisationRole.SWV:
            return self.of_gemeente(None, own=organisation)
        return self.of_gemeente(organisation.gemeente_code)


def _regions(organisations: Iterable[Organisation]) -> tuple[list[Region], _Placement]:
    swvs = sorted(
        (o for o in organisations if o.role is OrganisationRole.SWV), key=lambda o: o.identifier
    )
    sectors = sorted({o.identifier[:2] for o in swvs})
    by_gemeente: dict[str, dict[str, str]] = defaultdict(dict)
    for swv in swvs:
        for gemeente in swv.region_codes:
            by_gemeente[gemeente].setdefault(swv.identifier[:2], swv.identifier)
    regions = [Region(o.identifier, o.name, o.identifier[:2]) for o in swvs]
    regions += [Region(f"{s}-unassigned", f"Buiten de {s}-regio's", s) for s in sectors]
    return regions, _Placement(dict(by_gemeente), sectors)


def _on_reference_date(session: Session, day: date) -> dict[str, dict[str, set[str]]]:
    """category -> gemeente -> the children counted there on ``day``, as the records show it
    now (an exemption or an absence recorded later, but in force on ``day``, counts)."""
    found: dict[str, dict[str, set[str]]] = {c: defaultdict(set) for c in REFERENCE_CATEGORIES}
    at_home = session.scalars(
        select(AbsenceSignal).where(
            AbsenceSignal.signal_type.in_(AT_HOME),
            AbsenceSignal.since <= day,
            AbsenceSignal.since >= day - SIGNAL_HISTORY,
        )
    )
    for signal in at_home:
        if not placed_between(session, signal.child_id, signal.since, day):
            found["at_home"][signal.gemeente_code].add(signal.child_id)
    exempted = session.scalars(
        select(Exemption).where(Exemption.valid_from <= day, Exemption.valid_until >= day)
    )
    for exemption in exempted:
        found["exempted"][exemption.gemeente_code].add(exemption.child_id)
    return found


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _month(moment: datetime) -> str:
    return f"{moment.year}-{moment.month:02d}"
