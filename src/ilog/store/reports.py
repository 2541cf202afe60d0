"""The queries behind statistics, the timeline and a contact's overview.

Statistics by calendar month or day read :data:`~ilog.store.tables.interaction_summary`
(the live entries of each quarter of an hour, UTC, kept by triggers), not the log: a
period of the user's zone is a range of whole quarters, summed from the summary in one
query for all periods; only where ``--from``/``--to`` cut a quarter (or a zone's offset of
the distant past is not a whole number of quarters) are the minutes at an edge counted
from the log itself, through the ``occurred_at`` index. So the result is exactly what a
scan of the log would give, at a cost that depends on how many quarters and periods there
are, not on how many entries.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import LogFilter
from .entries import entry_clauses
from .tables import contact as C
from .tables import interaction as T
from .tables import interaction_group as G
from .tables import interaction_summary as S
from .tables import interaction_template as P
from .types import aware

if TYPE_CHECKING:
    from .unit import UnitOfWork

#: groupings that also report the last interaction date ("last contacted")
WITH_LAST = ("contact", "company")
#: the keys of a timeline row, in order
TIMELINE_FIELDS = ("entry_no", "occurred_at", "contact_no", "contact_name", "company_no", "kind", "flow",
                   "subject", "state", "due_at", "completed_at", "cancelled", "template_code",
                   "document_type", "document_no", "occurrence", "attachment_id", "owner", "opportunity_no")
#: the keys of a recent-document row
DOCUMENT_FIELDS = ("entry_no", "occurred_at", "contact_no", "document_type", "document_no", "version_no",
                   "occurrence", "template_code", "subject")

#: the summary's granularity
QUARTER = timedelta(minutes=15)
#: ranges per query (3 parameters each: well under every backend's limit)
_RANGES = 2000
#: bounds standing for "no bound" in a range
_FIRST = datetime(1, 1, 1, tzinfo=timezone.utc)
_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)

#: a period as :func:`ilog.domain.dates.calendar_periods` gives it: label, start, end (UTC; None: open)
Period = tuple[str, "datetime | None", "datetime | None"]


def _utc_day(column: Any, dialect: str) -> Any:
    """The UTC date of a stored moment, as ``YYYY-MM-DD`` text (SQLite) or a date."""
    if dialect == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.cast(column, sa.Date)


def _utc(value: Any) -> datetime:
    """A stored moment read back (naive UTC text or datetime, or a timestamptz) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc) if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _floor_quarter(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _ceil_quarter(moment: datetime) -> datetime:
    floor = _floor_quarter(moment)
    if floor == moment:
        return moment
    try:
        return floor + QUARTER
    except OverflowError:
        return moment


def _measures() -> list[Any]:
    return [
        sa.func.count().label("count"),
        sa.func.coalesce(sa.func.sum(T.c.cost), 0.0).label("cost"),
        sa.func.coalesce(sa.func.sum(T.c.duration_min), 0.0).label("duration_min"),
    ]


def _figures(row: Any) -> dict[str, Any]:
    return {"count": int(row["count"]), "cost": round(float(row["cost"]), 6),
            "duration_min": round(float(row["duration_min"]), 6)}


def narrows(flt: LogFilter | None) -> bool:
    """Whether a filter asks for other entries than the live ones of a span of time (then the
    summary, which counts only those, cannot answer for it)."""
    return flt is not None and flt.but(date_from=None, date_to=None, limit=None) != LogFilter()


class ReportStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def statistics(self, by: str, flt: LogFilter) -> list[dict[str, Any]]:
        """One row per template / group / contact / company / user (see the service)."""
        measures = _measures()
        if by in WITH_LAST:
            measures.append(sa.func.max(T.c.occurred_at).label("last_contacted"))
        name: Any = None
        source: Any = T
        if by == "user":
            key = T.c.user_id
        elif by == "owner":
            key = T.c.owner
        elif by == "opportunity":
            key = T.c.opportunity_no
        elif by == "template":
            key = T.c.template_code
            source = T.outerjoin(P, P.c.code == T.c.template_code)
            name = P.c.description
        elif by == "group":
            key = T.c.group_code
            source = T.outerjoin(G, G.c.code == T.c.group_code)
            name = G.c.description
        else:
            key = T.c.contact_no if by == "contact" else T.c.company_no
            source = T.outerjoin(C, C.c.no == key)
            name = C.c.name
        columns = [key.label("key")] + ([name.label("name")] if name is not None else []) + measures
        group_by = [key] + ([name] if name is not None else [])
        stmt = sa.select(*columns).select_from(source).where(*entry_clauses(flt)).group_by(*group_by)
        stmt = stmt.order_by(sa.desc("count"), key)
        if flt.limit:
            stmt = stmt.limit(flt.limit)
        out = []
        for row in self.uow.execute(stmt).mappings():
            item: dict[str, Any] = {by: row["key"]}
            if name is not None:
                item["name"] = row["name"]
            item.update(_figures(row))
            if by in WITH_LAST:
                item["last_contacted"] = aware(row["last_contacted"])
            out.append(item)
        return out

    # -- by calendar period, from the summary -----------------------------------------------

    def summary_span(self, date_from: datetime | None, date_to: datetime | None, flt: LogFilter | None = None
                     ) -> tuple[datetime, datetime] | None:
        """The first and last moments with live entries (between the two moments given, both
        included), to a quarter of an hour; None when there are none. With a filter that
        :func:`narrows` the live entries, the first and last of its entries, from the log."""
        if narrows(flt):
            row = self.uow.execute(sa.select(sa.func.min(T.c.occurred_at), sa.func.max(T.c.occurred_at))
                                   .where(*entry_clauses(flt.but(date_from=date_from, date_to=date_to)))).one()
            return None if row[0] is None else (_utc(row[0]), _utc(row[1]))
        clauses = []
        if date_from is not None:
            clauses.append(S.c.starts_at >= _floor_quarter(date_from))
        if date_to is not None:
            clauses.append(S.c.starts_at <= date_to)
        # two subqueries: each is one step down the primary key (quarters left at zero by
        # cancellations only widen the span by periods that then have nothing)
        row = self.uow.execute(sa.select(sa.select(sa.func.min(S.c.starts_at)).where(*clauses).scalar_subquery(),
                                         sa.select(sa.func.max(S.c.starts_at)).where(*clauses).scalar_subquery())
                               ).one()
        if row[0] is None:
            return None
        first, last = _utc(row[0]), _utc(row[1])
        try:
            last += QUARTER - timedelta(microseconds=1)
        except OverflowError:
            last = _LAST
        return max(first, date_from) if date_from else first, min(last, date_to) if date_to else last

    def summary_days(self, date_from: datetime | None, date_to: datetime | None,
                     flt: LogFilter | None = None) -> list[date]:
        """The UTC dates that have live entries (between the two moments given, both included);
        with a filter that :func:`narrows` them, the dates of its entries, from the log."""
        if narrows(flt):
            day = _utc_day(T.c.occurred_at, self.uow.dialect).label("day")
            stmt = sa.select(day).where(*entry_clauses(flt.but(date_from=date_from, date_to=date_to))).distinct()
        else:
            day = _utc_day(S.c.starts_at, self.uow.dialect).label("day")
            stmt = sa.select(day).where(S.c.entries != 0).distinct()
            if date_from is not None:
                stmt = stmt.where(S.c.starts_at >= _floor_quarter(date_from))
            if date_to is not None:
                stmt = stmt.where(S.c.starts_at <= date_to)
        days = self.uow.execute(stmt).scalars()
        return sorted(d if isinstance(d, date) else date.fromisoformat(d) for d in days)

    def period_totals(self, periods: list[Period], flt: LogFilter | None = None) -> list[dict[str, Any]]:
        """Count, cost and duration of the live entries in each period (a range of UTC
        moments), in the order given; periods without entries are left out. With a filter
        that :func:`narrows` the live entries (a contact, a template, an owner...), of its
        entries, counted from the log through the same clauses as ``ilog log``."""
        whole: list[tuple[int, datetime, datetime]] = []  # ranges of quarters: from the summary
        edges: list[tuple[int, datetime, datetime]] = []  # the rest: from the log
        for index, (_, start, end) in enumerate(periods):
            start, end = start or _FIRST, end or _LAST
            if narrows(flt):
                edges.append((index, start, end))
                continue
            first, last = _ceil_quarter(start), _floor_quarter(end) if end < _LAST else _LAST
            if first >= last:
                edges.append((index, start, end))
                continue
            whole.append((index, first, last))
            if start < first:
                edges.append((index, start, first))
            if last < end:
                edges.append((index, last, end))
        totals = [[0, 0.0, 0.0] for _ in periods]
        for ranges, summed in ((whole, True), (edges, False)):
            for start in range(0, len(ranges), _RANGES):
                chunk = ranges[start:start + _RANGES]
                for index, count, cost, duration in (self._filtered_totals(chunk, flt) if narrows(flt)
                                                     else self._range_totals(chunk, summed)):
                    if count:
                        total = totals[index]
                        total[0] += int(count)
                        total[1] += float(cost or 0)
                        total[2] += float(duration or 0)
        return [{"key": label, "count": count, "cost": round(cost, 6) + 0.0, "duration_min": round(duration, 6) + 0.0}
                for (label, _, _), (count, cost, duration) in zip(periods, totals) if count]

    def _range_totals(self, ranges: list[tuple[int, datetime, datetime]], summed: bool) -> list[tuple]:
        """Each range (``index``, ``low`` included, ``high`` not) with its totals, in one query:
        from the summary's quarters, or from the live entries of the log.

        The statement is written out here rather than built with ``sa.values()``: compiling a
        VALUES list of a thousand days costs SQLAlchemy a quarter of a second, this a millisecond.
        """
        dialect = self.uow.conn.dialect
        column = S.c.starts_at if summed else T.c.occurred_at  # bound and cast as that column is
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        kind = column.type.compile(dialect=dialect)
        first = f"({mark}, {mark}, {mark})" if dialect.name == "sqlite" else \
            f"(CAST({mark} AS INTEGER), CAST({mark} AS {kind}), CAST({mark} AS {kind}))"
        rows = ", ".join([first] + [f"({mark}, {mark}, {mark})"] * (len(ranges) - 1))
        if summed:
            table, entries, where = "interaction_summary", "sum(interaction_summary.entries)", ""
        else:
            live = sa.and_(*entry_clauses(LogFilter())).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            table, entries, where = "interaction", "count(*)", f" AND {live}"
        at = f"{table}.{column.name}"
        totals = f"{entries} AS entries, sum({table}.cost) AS cost, sum({table}.duration_min) AS duration_min"
        in_range = f"{at} >= p.low AND {at} < p.high{where}"
        if dialect.name == "postgresql":
            # one aggregate per range (LATERAL), each a range scan of the moment's index:
            # joined to the VALUES list, PostgreSQL cannot see how short the ranges are and
            # reads the whole table, testing every row against every range (at 10M entries
            # 3.5 s for the minutes --from/--to cut from a quarter, 0.5 s for 36 months)
            sql = (f"WITH p (period, low, high) AS (VALUES {rows}) SELECT p.period, t.entries, t.cost, "
                   f"t.duration_min FROM p CROSS JOIN LATERAL (SELECT {totals} FROM {table} WHERE {in_range}) AS t")
        else:  # SQLite searches the index for each row of the VALUES list
            sql = (f"WITH p (period, low, high) AS (VALUES {rows}) SELECT p.period, {totals} "
                   f"FROM p JOIN {table} ON {in_range} GROUP BY p.period")
        moment = column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
        params: list[Any] = []
        for index, low, high in ranges:
            params += [index, moment(low), moment(high)]
        return list(self.uow.conn.exec_driver_sql(sql, tuple(params)))

    def _filtered_totals(self, ranges: list[tuple[int, datetime, datetime]], flt: LogFilter) -> list[tuple]:
        """Each range with the totals of the filter's entries in it, in one query (the filter's
        own dates are already in the ranges)."""
        p = sa.values(sa.column("period", sa.Integer), sa.column("low", T.c.occurred_at.type),
                      sa.column("high", T.c.occurred_at.type), name="p").data(ranges).cte("p")
        stmt = (sa.select(p.c.period, sa.func.count(), sa.func.sum(T.c.cost), sa.func.sum(T.c.duration_min))
                .select_from(p.join(T, sa.and_(T.c.occurred_at >= p.c.low, T.c.occurred_at < p.c.high)))
                .where(*entry_clauses(flt.but(date_from=None, date_to=None, limit=None))).group_by(p.c.period))
        return [tuple(row) for row in self.uow.execute(stmt)]

    def contact_figures(self, contact_no: str, *, rollup: bool) -> dict[str, Any]:
        """Count, cost, duration, last contacted and open activities of one contact."""
        row = self.uow.execute(sa.select(
            *_measures(),
            sa.func.max(T.c.occurred_at).label("last_contacted"),
            sa.func.coalesce(sa.func.sum(sa.case((T.c.state == "open", 1), else_=0)), 0).label("open_activities"),
        ).where(*entry_clauses(LogFilter(contact_no=contact_no, rollup=rollup)))).mappings().one()
        return {**_figures(row), "last_contacted": aware(row["last_contacted"]),
                "open_activities": int(row["open_activities"])}

    def timeline(self, flt: LogFilter) -> list[dict[str, Any]]:
        columns = [T.c[name] for name in TIMELINE_FIELDS if name != "contact_name"]
        stmt = (sa.select(*columns, C.c.name.label("contact_name"))
                .select_from(T.outerjoin(C, C.c.no == T.c.contact_no))
                .where(*entry_clauses(flt)).order_by(T.c.occurred_at.desc(), T.c.entry_no.desc()))
        if flt.limit:
            stmt = stmt.limit(flt.limit)
        return [dict(r) for r in self.uow.execute(stmt).mappings()]

    def opportunities(self, contact_no: str, *, rollup: bool, limit: int = 5) -> list[dict[str, Any]]:
        """The contact's opportunities: number, last activity, how many entries; latest first."""
        last = sa.func.max(T.c.occurred_at)
        stmt = (sa.select(T.c.opportunity_no, last.label("last_activity"), sa.func.count().label("entries"))
                .where(*entry_clauses(LogFilter(contact_no=contact_no, rollup=rollup)), T.c.opportunity_no.is_not(None))
                .group_by(T.c.opportunity_no).order_by(last.desc(), T.c.opportunity_no).limit(limit))
        return [{"opportunity_no": r.opportunity_no, "last_activity": aware(r.last_activity), "entries": int(r.entries)}
                for r in self.uow.execute(stmt)]

    def recent_documents(self, contact_no: str, *, rollup: bool, limit: int = 5, invoices: bool = False
                         ) -> list[dict[str, Any]]:
        """The contact's latest entries that record a document (not cancelled, not postponed)."""
        clauses = [*entry_clauses(LogFilter(contact_no=contact_no, rollup=rollup)), T.c.document_no.is_not(None)]
        if invoices:  # document events of invoice kind (sales.invoice, purchase.invoice, a plugin's ...invoice)
            clauses.append(sa.func.lower(T.c.document_type).like("%invoice%"))
        stmt = (sa.select(*[T.c[name] for name in DOCUMENT_FIELDS]).where(*clauses)
                .order_by(T.c.occurred_at.desc(), T.c.entry_no.desc()).limit(limit))
        return [dict(r) for r in self.uow.execute(stmt).mappings()]
