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
    from .entries import Entries

#: periods listed from the first entry to the last before only those with entries are looked for
MAX_PERIODS = 20_000

#: what ``ilog stats --by`` accepts
STATS_BY = ("template", "group", "contact", "company", "user", "owner", "opportunity", *dates.PERIODS)


def stats_columns(by: str) -> list[str]:
    """The keys of a statistics row for a grouping, in order."""
    by = values.choice(by, "statistics grouping", STATS_BY)
    columns = [by] + (["name"] if by not in ("user", "owner", "opportunity", *dates.PERIODS) else []) + [
        "count", "cost", "duration_min"]
    return columns + (["last_contacted"] if by in ("contact", "company") else [])


class Reports:
    def __init__(self, ctx: "ServiceContext", entries: "Entries"):
        self.ctx = ctx
        self.entries = entries

    def stats(self, by: str, *, date_from: Any = None, date_to: Any = None, limit: Any = None,
              flt: LogFilter | None = None) -> list[dict[str, Any]]:
        """Count, cost and duration per template, group, contact, company, user or month.

        Each row has the grouping value under the ``by`` name (``template``, ``month``...),
        a ``name`` for templates, groups, contacts and companies, then ``count``, ``cost``,
        ``duration_min`` and, for contacts and companies, ``last_contacted``. Rows come in
        calendar order for months and days (``2026-10``, ``2026-10-01``, in the user's
        zone), else most entries first.
        """
        by = values.choice(by, "statistics grouping", STATS_BY)
        changes: dict[str, Any] = {"limit": values.limit(limit) if limit else None}
        if date_from is not None:
            changes["date_from"] = date_from
        if date_to is not None:
            changes["date_to"] = date_to
        flt = (flt or LogFilter()).but(**changes)
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            raise BadValue("the first date (--from, date_from) is after the last (--to, date_to)")
        if by in dates.PERIODS:
            return self._by_period(by, flt)
        with self.ctx.db.unit() as uow:
            self.entries.check_names(uow, flt)
            return uow.reports.statistics(by, flt)

    def _by_period(self, by: str, flt: LogFilter) -> list[dict[str, Any]]:
        zone = dates.local_zone()
        low, high = flt.date_from, flt.date_to
        end = high + timedelta(microseconds=1) if high is not None and high < dates.LATEST else None
        with self.ctx.db.unit() as uow:
            self.entries.check_names(uow, flt)
            span = uow.reports.summary_span(low, high, flt)
            if span is None:
                return []
            first, last = span
            if (last - first).days < (MAX_PERIODS if by == "day" else 28 * MAX_PERIODS):
                found = dates.calendar_periods(first, last, by, zone)
            else:  # a few entries centuries apart: only the periods that have some
                found = dates.calendar_periods_of_days(uow.reports.summary_days(low, high, flt), by, zone)
            periods = []
            for label, start, stop in found:
                if low is not None and (start is None or start < low):
                    start = low
                if end is not None and (stop is None or stop > end):
                    stop = end
                if start is None or stop is None or start < stop:
                    periods.append((label, start, stop))
            rows = uow.reports.period_totals(periods, flt)
        if flt.limit:
            rows = rows[:flt.limit]
        return [{by: row.pop("key"), **row} for row in rows]

    def timeline(self, contact_no: str | None, *, rollup: bool = True, limit: Any = None,
                 include_cancelled: bool = False, opportunity_no: str | None = None
                 ) -> tuple[Contact | None, list[dict[str, Any]]]:
        """(the contact, its entries newest first); with ``opportunity_no`` the entries regarding that
        opportunity (of the contact, when one is given too). Postponed entries are not history yet."""
        if contact_no is None and opportunity_no is None:
            raise BadValue("give a contact, or an opportunity (--opportunity NO, opportunity_no)")
        no = values.code(contact_no, "contact number") if contact_no is not None else None
        with self.ctx.db.unit() as uow:
            contact = self._contact(uow, no) if no is not None else None
            rows = uow.reports.timeline(self._timeline(contact, rollup, include_cancelled, opportunity_no).but(
                limit=values.limit(limit) if limit else None))
        for row in rows:
            if row["cancelled"]:
                row["state"] = "cancelled"
        return contact, rows

    def timeline_count(self, contact_no: str | None, *, rollup: bool = True, include_cancelled: bool = False,
                       opportunity_no: str | None = None) -> int:
        """How many entries :meth:`timeline` would list without a limit."""
        no = values.code(contact_no, "contact number") if contact_no is not None else None
        with self.ctx.db.unit() as uow:
            contact = self._contact(uow, no) if no is not None else None
            return uow.entries.count(self._timeline(contact, rollup, include_cancelled, opportunity_no))

    @staticmethod
    def _contact(uow: Any, no: str) -> Contact:
        contact = uow.contacts.get(no)
        if contact is None:
            raise NotFound(f"unknown contact {no!r}")
        return contact

    @staticmethod
    def _timeline(contact: Contact | None, rollup: bool, include_cancelled: bool,
                  opportunity_no: str | None = None) -> LogFilter:
        return LogFilter(contact_no=contact.no if contact else None,
                         rollup=bool(contact and rollup and contact.type == "company"), opportunity_no=opportunity_no,
                         cancelled="include" if include_cancelled else "exclude")

    def contact_overview(self, contact_no: str, *, documents: int = 5) -> dict[str, Any]:
        """A contact with its statistics and its most recent documents (a company's rolled up)."""
        no = values.code(contact_no, "contact number")
        with self.ctx.db.unit() as uow:
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown contact {no!r}")
            rollup = contact.type == "company"
            return {
                "contact": contact,
                "stats": uow.reports.contact_figures(no, rollup=rollup),
                "recent_documents": uow.reports.recent_documents(no, rollup=rollup, limit=documents),
                "recent_opportunities": uow.reports.opportunities(no, rollup=rollup, limit=documents),
                "recent_invoices": uow.reports.recent_documents(no, rollup=rollup, limit=documents, invoices=True),
                "next_activities": [e.to_dict() for e in uow.entries.find(LogFilter(
                    contact_no=no, rollup=rollup, state="open", limit=documents))],
            }

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

