"""A contact's history, newest first: ``ilog timeline`` and the recent documents of
``ilog contact show``.

For a company the timeline rolls up: the entries logged under it, its own and its
persons', each naming the person. Entries keep the company they were logged under, so a
person who moves to another company leaves its history with the old one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import models
from .logbook import entry_clauses
from .records import LogFilter, check_code

if TYPE_CHECKING:
    from .logbook import Logbook

T = models.interaction
C = models.contact

#: the keys of a timeline row, in order
TIMELINE_FIELDS = ("entry_no", "occurred_at", "contact_no", "contact_name", "company_no", "kind", "flow",
                   "subject", "state", "due_at", "completed_at", "cancelled", "template_code",
                   "document_type", "document_no", "occurrence", "attachment_id")
#: the keys of a recent-document row
DOCUMENT_FIELDS = ("entry_no", "occurred_at", "contact_no", "document_type", "document_no", "version_no",
                   "occurrence", "template_code", "subject")


def timeline(logbook: "Logbook", contact_no: str, *, rollup: bool = True, limit: int | None = None,
             include_cancelled: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """(the contact, its entries newest first). Postponed entries are not history yet."""
    no = check_code(contact_no, "contact number")
    with logbook.db.read() as conn:
        contact = logbook.contacts._get(conn, no)
        clauses = entry_clauses(LogFilter(contact_no=no, rollup=rollup and contact.type == "company",
                                          cancelled="include" if include_cancelled else "exclude"))
        columns = [T.c[name] for name in TIMELINE_FIELDS if name != "contact_name"]
        stmt = (sa.select(*columns, C.c.name.label("contact_name"))
                .select_from(T.outerjoin(C, C.c.no == T.c.contact_no))
                .where(*clauses).order_by(T.c.occurred_at.desc(), T.c.entry_no.desc()))
        if limit:
            stmt = stmt.limit(limit)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    for row in rows:
        if row["cancelled"]:
            row["state"] = "cancelled"
    return contact, rows


def recent_documents(conn: Connection, contact_no: str, *, rollup: bool, limit: int = 5) -> list[dict[str, Any]]:
    """The contact's latest entries that record a document (not cancelled, not postponed)."""
    stmt = (sa.select(*[T.c[name] for name in DOCUMENT_FIELDS])
            .where(*entry_clauses(LogFilter(contact_no=contact_no, rollup=rollup)), T.c.document_no.is_not(None))
            .order_by(T.c.occurred_at.desc(), T.c.entry_no.desc()).limit(limit))
    return [dict(r) for r in conn.execute(stmt).mappings()]
