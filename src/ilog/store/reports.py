"""The queries behind statistics, the timeline and a contact's overview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import LogFilter
from .entries import entry_clauses
from .tables import contact as C
from .tables import interaction as T
from .tables import interaction_group as G
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


def _month_key(column: Any, dialect: str) -> Any:
    """``YYYY-MM`` of a timestamp column, the same text on every backend."""
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", column)
    return sa.func.to_char(column, "YYYY-MM")


def _measures() -> list[Any]:
    return [
        sa.func.count().label("count"),
        sa.func.coalesce(sa.func.sum(T.c.cost), 0.0).label("cost"),
        sa.func.coalesce(sa.func.sum(T.c.duration_min), 0.0).label("duration_min"),
    ]


def _figures(row: Any) -> dict[str, Any]:
    return {"count": int(row["count"]), "cost": round(float(row["cost"]), 6),
            "duration_min": round(float(row["duration_min"]), 6)}


class ReportStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def statistics(self, by: str, flt: LogFilter) -> list[dict[str, Any]]:
        """One row per template / group / contact / company / user / month (see the service)."""
        measures = _measures()
        if by in WITH_LAST:
            measures.append(sa.func.max(T.c.occurred_at).label("last_contacted"))
        name: Any = None
        source: Any = T
        if by == "month":
            key = _month_key(T.c.occurred_at, self.uow.dialect)
        elif by == "user":
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
        stmt = stmt.order_by(key) if by == "month" else stmt.order_by(sa.desc("count"), key)
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
