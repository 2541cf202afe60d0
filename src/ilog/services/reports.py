"""What the log says: statistics, a contact's timeline and overview, and attached files.

Cancelled and postponed entries count for nothing in statistics: a cancelled call did not
cost anything and a postponed one has not happened yet. Months and days are the calendar
months and days of the user's zone (``ILOG_TIMEZONE`` / config ``timezone``, else the
system's): an entry at 00:30 on 1 October in Tokyo counts for October. They are summed from
the per-hour summary the database keeps (:mod:`ilog.store.reports`), exactly, in any zone.

The timeline of a company rolls up: the entries logged under it, its own and its persons',
each naming the person. Entries keep the company they were logged under, so a person who
moves to another company leaves its history with the old one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datetime import timedelta

from ..domain import dates, values
from ..domain.records import Contact, LogFilter
from ..errors import BadValue, NotFound

if TYPE_CHECKING:
    from .context import ServiceContext

#: periods listed from the first entry to the last before only those with entries are looked for
MAX_PERIODS = 20_000

#: what ``ilog stats --by`` accepts
STATS_BY = ("template", "group", "contact", "company", "user", *dates.PERIODS)


def stats_columns(by: str) -> list[str]:
    """The keys of a statistics row for a grouping, in order."""
    by = values.choice(by, "statistics grouping", STATS_BY)
    columns = [by] + (["name"] if by not in ("user", *dates.PERIODS) else []) + ["count", "cost", "duration_min"]
    return columns + (["last_contacted"] if by in ("contact", "company") else [])


class Reports:
    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx

    def stats(self, by: str, *, date_from: Any = None, date_to: Any = None, limit: Any = None) -> list[dict[str, Any]]:
        """Count, cost and duration per template, group, contact, company, user or month.

        Each row has the grouping value under the ``by`` name (``template``, ``month``...),
        a ``name`` for templates, groups, contacts and companies, then ``count``, ``cost``,
        ``duration_min`` and, for contacts and companies, ``last_contacted``. Rows come in
        calendar order for months and days (``2026-10``, ``2026-10-01``, in the user's
        zone), else most entries first.
        """
        by = values.choice(by, "statistics grouping", STATS_BY)
        flt = LogFilter(date_from=date_from, date_to=date_to, limit=values.limit(limit) if limit else None)
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            raise BadValue("--from is after --to")
        if by in dates.PERIODS:
            return self._by_period(by, flt)
        with self.ctx.db.unit() as uow:
            return uow.reports.statistics(by, flt)

    def _by_period(self, by: str, flt: LogFilter) -> list[dict[str, Any]]:
        zone = dates.local_zone()
        low, high = flt.date_from, flt.date_to
        end = high + timedelta(microseconds=1) if high is not None and high < dates.LATEST else None
        with self.ctx.db.unit() as uow:
            span = uow.reports.summary_span(low, high)
            if span is None:
                return []
            first, last = span
            if (last - first).days < (MAX_PERIODS if by == "day" else 28 * MAX_PERIODS):
                found = dates.calendar_periods(first, last, by, zone)
            else:  # a few entries centuries apart: only the periods that have some
                found = dates.calendar_periods_of_days(uow.reports.summary_days(low, high), by, zone)
            periods = []
            for label, start, stop in found:
                if low is not None and (start is None or start < low):
                    start = low
                if end is not None and (stop is None or stop > end):
                    stop = end
                if start is None or stop is None or start < stop:
                    periods.append((label, start, stop))
            rows = uow.reports.period_totals(periods)
        if flt.limit:
            rows = rows[:flt.limit]
        return [{by: row.pop("key"), **row} for row in rows]

    def timeline(self, contact_no: str, *, rollup: bool = True, limit: Any = None,
                 include_cancelled: bool = False) -> tuple[Contact, list[dict[str, Any]]]:
        """(the contact, its entries newest first). Postponed entries are not history yet."""
        no = values.code(contact_no, "contact number")
        with self.ctx.db.unit() as uow:
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown contact {no!r}")
            rows = uow.reports.timeline(LogFilter(
                contact_no=no, rollup=rollup and contact.type == "company",
                cancelled="include" if include_cancelled else "exclude", limit=values.limit(limit) if limit else None))
        for row in rows:
            if row["cancelled"]:
                row["state"] = "cancelled"
        return contact, rows

    def contact_overview(self, contact_no: str, *, documents: int = 5) -> dict[str, Any]:
        """A contact with its statistics and its most recent documents (a company's rolled up)."""
        no = values.code(contact_no, "contact number")
        with self.ctx.db.unit() as uow:
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown contact {no!r}")
            rollup = contact.type == "company"
            return {"contact": contact, "stats": uow.reports.contact_figures(no, rollup=rollup),
                    "recent_documents": uow.reports.recent_documents(no, rollup=rollup, limit=documents)}

    def attachment(self, entry_no: Any) -> dict[str, Any]:
        """The file an entry references: id, name, media_type, size, sha256, content."""
        number = values.entry_no(entry_no)
        with self.ctx.db.unit() as uow:
            exists, attachment_id = uow.entries.attachment_id(number)
            if not exists:
                raise NotFound(f"interaction log entry {number} does not exist")
            if attachment_id is None:
                raise NotFound(f"entry {number} has no attachment")
            found = uow.attachments.get(attachment_id)
        if found is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        return found

