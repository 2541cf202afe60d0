"""Statistics of the log: count, cost and duration per template, group, contact, company,
user or month, and one contact's figures for ``ilog contact show``.

Cancelled and postponed entries count for nothing here: a cancelled call did not cost
anything and a postponed one has not happened yet. Months are calendar months of the
stored UTC time, computed by the database (:func:`month_key`), so SQLite and PostgreSQL
group identically.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import models
from .errors import BadValue
from .logbook import entry_clauses
from .records import LogFilter, check_choice

if TYPE_CHECKING:
    from .logbook import Logbook

T = models.interaction
C = models.contact
P = models.interaction_template
G = models.interaction_group

#: what ``ilog stats --by`` accepts
STATS_BY = ("template", "group", "contact", "company", "user", "month")
#: groupings that also report the last interaction date ("last contacted")
WITH_LAST = ("contact", "company")


def month_key(column: Any, dialect: str) -> Any:
    """``YYYY-MM`` of a timestamp column, the same text on every backend."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", column)
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    raise BadValue(f"monthly statistics are not supported on the {dialect} backend")


def _measures() -> list[Any]:
    return [
        sa.func.count().label("count"),
        sa.func.coalesce(sa.func.sum(T.c.cost), 0.0).label("cost"),
        sa.func.coalesce(sa.func.sum(T.c.duration_min), 0.0).label("duration_min"),
    ]


def statistics(logbook: "Logbook", by: str, *, date_from: datetime | None = None,
               date_to: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """One row per template / group / contact / company / user / month.

    Each row has the grouping value under the ``by`` name (``template``, ``month``...),
    a ``name`` for templates, groups, contacts and companies, then ``count``, ``cost``,
    ``duration_min`` and, for contacts and companies, ``last_contacted``. Rows come in
    month order for months, else most entries first.
    """
    by = check_choice(by, STATS_BY, "statistics grouping")
    if date_from and date_to and date_from > date_to:
        raise BadValue("--from is after --to")
    where = entry_clauses(LogFilter(date_from=date_from, date_to=date_to))
    measures = _measures()
    if by in WITH_LAST:
        measures.append(sa.func.max(T.c.occurred_at).label("last_contacted"))
    name: Any = None
    source: Any = T
    if by == "month":
        key = month_key(T.c.occurred_at, logbook.db.dialect)
    elif by == "user":
        key = T.c.user_id
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
    stmt = sa.select(*columns).select_from(source).where(*where).group_by(*group_by)
    if by == "month":
        stmt = stmt.order_by(key)
    else:
        stmt = stmt.order_by(sa.desc("count"), key)
    if limit:
        stmt = stmt.limit(limit)
    with logbook.db.read() as conn:
        rows = conn.execute(stmt).mappings().all()
    out = []
    for row in rows:
        item: dict[str, Any] = {by: row["key"]}
        if name is not None:
            item["name"] = row["name"]
        item["count"] = int(row["count"])
        item["cost"] = round(float(row["cost"]), 6)
        item["duration_min"] = round(float(row["duration_min"]), 6)
        if by in WITH_LAST:
            item["last_contacted"] = _aware(row["last_contacted"])
        out.append(item)
    return out


def stats_columns(by: str) -> list[str]:
    """The keys of :func:`statistics` rows for a grouping, in order."""
    by = check_choice(by, STATS_BY, "statistics grouping")
    columns = [by] + (["name"] if by not in ("user", "month") else []) + ["count", "cost", "duration_min"]
    return columns + (["last_contacted"] if by in WITH_LAST else [])


def contact_stats(conn: Connection, contact_no: str, *, rollup: bool) -> dict[str, Any]:
    """Count, cost, duration, last contacted and open activities of one contact.

    With ``rollup`` (a company), its persons' entries logged under it count too.
    """
    row = conn.execute(sa.select(
        *_measures(),
        sa.func.max(T.c.occurred_at).label("last_contacted"),
        sa.func.coalesce(sa.func.sum(sa.case((T.c.state == "open", 1), else_=0)), 0).label("open_activities"),
    ).where(*entry_clauses(LogFilter(contact_no=contact_no, rollup=rollup)))).mappings().one()
    return {
        "count": int(row["count"]),
        "cost": round(float(row["cost"]), 6),
        "duration_min": round(float(row["duration_min"]), 6),
        "last_contacted": _aware(row["last_contacted"]),
        "open_activities": int(row["open_activities"]),
    }


def _aware(value: Any) -> datetime | None:
    """An aggregate of a UTC column comes back without the column type's processing."""
    return models.UTCDateTime().process_result_value(value, None) if value is not None else None

