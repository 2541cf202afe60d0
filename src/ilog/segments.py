"""Segments: gather contacts, personalise lines, and log one interaction per line at once.

A segment is a working list: a header (description, default template, date, salesperson,
campaign, subject) and lines of contacts, each line able to override the template and the
description. :meth:`SegmentBook.log` turns every line into a draft in memory (a handful of
queries, whatever the number of lines), runs the same pipeline as every other save
(``enrich_interaction``, the core checks, ``validate_interaction``), and only if every
line passed writes all entries, the logged segment and the segment's new state in ONE
transaction (:meth:`ilog.logbook.Logbook.save_prepared`). Any error leaves no entry and the
segment open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models, numbering
from .errors import AlreadyExists, BadValue, NotFound, Refused
from .records import (
    MAX_NAME,
    MAX_SUBJECT,
    Interaction,
    LogFilter,
    Record,
    check_choice,
    check_code,
    check_text,
)

if TYPE_CHECKING:
    from .logbook import ChangeResult, Logbook

S = models.segment
L = models.segment_line
LS = models.logged_segment
C = models.contact
I = models.interaction  # noqa: E741
P = models.interaction_template

#: contacts checked per query when numbers are given (well under SQLite's variable limit)
_CHUNK = 5000


@dataclass
class Segment(Record):
    no: str
    description: str
    template_code: str | None = None
    date: datetime | None = None
    salesperson_code: str | None = None
    campaign_no: str | None = None
    subject: str | None = None
    state: str = "open"
    created_at: datetime | None = None
    created_by: str | None = None
    line_count: int = 0
    logged_segment_no: str | None = None


SEGMENT_FIELDS = tuple(f.name for f in fields(Segment))


@dataclass
class SegmentLine(Record):
    segment_no: str
    line_no: int
    contact_no: str
    contact_name: str | None = None
    contact_type: str | None = None
    company_no: str | None = None
    template_code: str | None = None
    description: str | None = None


LINE_FIELDS = tuple(f.name for f in fields(SegmentLine))


@dataclass
class LoggedSegment(Record):
    no: str
    segment_no: str
    description: str | None
    entry_count: int
    first_entry_no: int | None
    last_entry_no: int | None
    logged_at: datetime
    logged_by: str | None
    cancelled: bool = False


LOGGED_FIELDS = tuple(f.name for f in fields(LoggedSegment))


@dataclass
class Criteria(Record):
    """Which contacts ``segment add`` / ``segment remove`` select, besides listed numbers.

    Contact criteria: ``type``, ``company_no`` (the persons of that company), ``salesperson``,
    ``text`` (name, email or number, any case). Interaction criteria look at the contact's
    own entries (cancelled and postponed entries do not count): ``with_template`` /
    ``with_group`` keep contacts that have such an entry, ``without_template`` /
    ``without_group`` those that have none, within ``since``..``until`` when given.
    ``no_interaction_since`` keeps contacts with no entry at all (or none of the given
    ``without_*`` template or group) since that moment; ``since``/``until`` alone keep
    contacts with any entry in the range.
    """

    type: str | None = None
    company_no: str | None = None
    salesperson: str | None = None
    text: str | None = None
    with_template: str | None = None
    with_group: str | None = None
    without_template: str | None = None
    without_group: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    no_interaction_since: datetime | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, "") for f in fields(self))


@dataclass
class Selection(Record):
    """What ``segment add`` / ``segment remove`` did (or would do)."""

    segment_no: str
    changed: int = 0
    unchanged: int = 0


@dataclass
class LogResult(Record):
    """What ``segment log`` did (or, with ``dry_run``, would do)."""

    segment_no: str
    logged_segment_no: str | None
    entry_count: int
    first_entry_no: int | None = None
    last_entry_no: int | None = None
    follow_up_segment_no: str | None = None
    dry_run: bool = False
    drafts: list[Interaction] = field(default_factory=list, repr=False)
    entry_nos: list[int] = field(default_factory=list, repr=False)


class _NumberTaken(Exception):
    """Another process logged a segment between our prediction and our transaction."""


def _row_to_segment(row: Any) -> Segment:
    return Segment(**{name: row[name] for name in SEGMENT_FIELDS if name in row})


def _row_to_logged(row: Any) -> LoggedSegment:
    return LoggedSegment(**{name: row[name] for name in LOGGED_FIELDS})


def _chunks(items: list[str], size: int = _CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SegmentBook:
    """Creating, filling, personalising, logging and cancelling segments."""

    def __init__(self, logbook: "Logbook"):
        self.logbook = logbook
        self.db = logbook.db

    # -- reading ---------------------------------------------------------------------

    def _segment_query(self) -> sa.Select:
        count = sa.select(sa.func.count()).select_from(L).where(L.c.segment_no == S.c.no).scalar_subquery()
        logged = sa.select(sa.func.max(LS.c.no)).where(LS.c.segment_no == S.c.no).scalar_subquery()
        return sa.select(S, count.label("line_count"), logged.label("logged_segment_no"))

    def _get(self, conn: Connection, no: str, *, lock: bool = False) -> Segment:
        stmt = self._segment_query().where(S.c.no == no)
        if lock:  # PostgreSQL: serialise writers of one segment (SQLite's BEGIN IMMEDIATE already does)
            stmt = sa.select(S.c.no).where(S.c.no == no).with_for_update()
            if conn.execute(stmt).first() is None:
                raise NotFound(f"unknown segment {no!r}")
            stmt = self._segment_query().where(S.c.no == no)
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFound(f"unknown segment {no!r}")
        return _row_to_segment(row)

    def _get_open(self, conn: Connection, no: str) -> Segment:
        segment = self._get(conn, no, lock=True)
        if segment.state != "open":
            raise Refused(f"segment {no} was logged as {segment.logged_segment_no}: it cannot be changed")
        return segment

    def get(self, no: str) -> Segment:
        with self.db.read() as conn:
            return self._get(conn, check_code(no, "segment number"))

    def list(self, state: str | None = None) -> list[Segment]:
        """Every segment with its line count, open and logged alike unless ``state`` says."""
        stmt = self._segment_query().order_by(S.c.no)
        if state:
            stmt = stmt.where(S.c.state == check_choice(state, ("open", "logged"), "segment state"))
        with self.db.read() as conn:
            return [_row_to_segment(r) for r in conn.execute(stmt).mappings()]

    def lines(self, no: str) -> list[SegmentLine]:
        """A segment's lines in order, with each contact's name, type and company."""
        no = check_code(no, "segment number")
        with self.db.read() as conn:
            self._get(conn, no)
            stmt = (sa.select(L.c.segment_no, L.c.line_no, L.c.contact_no, C.c.name.label("contact_name"),
                              C.c.type.label("contact_type"), C.c.company_no, L.c.template_code, L.c.description)
                    .join(C, C.c.no == L.c.contact_no).where(L.c.segment_no == no).order_by(L.c.line_no))
            return [SegmentLine(**r) for r in conn.execute(stmt).mappings()]

    def logged(self, segment_no: str | None = None) -> list[LoggedSegment]:
        """Logged segments, oldest first."""
        stmt = sa.select(LS).order_by(LS.c.logged_at, LS.c.no)
        if segment_no:
            stmt = stmt.where(LS.c.segment_no == check_code(segment_no, "segment number"))
        with self.db.read() as conn:
            return [_row_to_logged(r) for r in conn.execute(stmt).mappings()]

    def get_logged(self, no: str) -> LoggedSegment:
        no = check_code(no, "logged segment number")
        with self.db.read() as conn:
            return self._get_logged(conn, no)

    def _get_logged(self, conn: Connection, no: str) -> LoggedSegment:
        row = conn.execute(sa.select(LS).where(LS.c.no == no)).mappings().first()
        if row is None:
            raise NotFound(f"unknown logged segment {no!r}")
        return _row_to_logged(row)

    # -- the header ------------------------------------------------------------------

    def _clean(self, conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if key == "description":
                clean[key] = check_text(value, "description", MAX_NAME, required=True).strip()
                if not clean[key]:
                    raise BadValue("description must not be empty")
            elif key == "template_code":
                clean[key] = self.logbook.templates._get(conn, check_code(value, "template code")).code
            elif key == "date":
                if not isinstance(value, datetime) or value.tzinfo is None:
                    raise BadValue("the segment date must be a timezone-aware moment")
                clean[key] = value
            elif key == "salesperson_code":
                clean[key] = check_code(value, "salesperson code")
            elif key == "campaign_no":
                clean[key] = check_code(value, "campaign number")
            elif key == "subject":
                clean[key] = check_text(value, "subject", MAX_SUBJECT)
            else:
                raise BadValue(f"unknown segment field {key!r}")
        return clean

    def create(self, description: str, *, no: str | None = None, template_code: str | None = None,
               date: datetime | None = None, salesperson_code: str | None = None,
               campaign_no: str | None = None, subject: str | None = None) -> Segment:
        """A new, empty, open segment; the number is given or drawn from the segment series."""
        if description is None or not str(description).strip():
            raise BadValue("a segment needs a description")
        no = check_code(no, "segment number") if no else None
        with self.db.write() as conn:
            clean = self._clean(conn, {"description": description, "template_code": template_code, "date": date,
                                       "salesperson_code": salesperson_code, "campaign_no": campaign_no,
                                       "subject": subject})
            if no is not None and self._exists(conn, no):
                raise AlreadyExists(f"segment {no} already exists")
            if no is None:
                no = numbering.take_code(conn, "segment", lambda n: self._exists(conn, n))
            conn.execute(S.insert().values(no=no, state="open", created_at=dates.now(), created_by=self.logbook.user,
                                           **clean))
            return self._get(conn, no)

    def _exists(self, conn: Connection, no: str) -> bool:
        return conn.execute(sa.select(S.c.no).where(S.c.no == no)).first() is not None

    def edit(self, no: str, **values: Any) -> Segment:
        """Change the header of an open segment (description, template, date, salesperson...)."""
        no = check_code(no, "segment number")
        with self.db.write() as conn:
            self._get_open(conn, no)
            clean = self._clean(conn, values)
            if clean:
                conn.execute(sa.update(S).where(S.c.no == no).values(**clean))
            return self._get(conn, no)

    # -- lines -----------------------------------------------------------------------

    def _criteria_clauses(self, conn: Connection, criteria: Criteria) -> list[Any]:
        """WHERE clauses on the contact table for criteria (contact fields and interaction history)."""
        cr = criteria
        clauses = self.logbook.contacts.where(type=cr.type, company_no=cr.company_no, salesperson=cr.salesperson,
                                              text=cr.text)
        if cr.no_interaction_since is not None and (cr.since is not None or cr.with_template or cr.with_group):
            raise BadValue("--no-interaction-since cannot be combined with --since, --with-template or --with-group")
        since = cr.no_interaction_since or cr.since
        if since is not None and cr.until is not None and since > cr.until:
            raise BadValue("--since is after --until")

        def has_entry(template: str | None = None, group: str | None = None) -> Any:
            conds = [I.c.contact_no == C.c.no, I.c.cancelled.is_not(True), I.c.postponed.is_not(True)]
            if template:
                conds.append(I.c.template_code == template)
            if group:
                conds.append(I.c.group_code == group)
            if since is not None:
                conds.append(I.c.occurred_at >= since)
            if cr.until is not None:
                conds.append(I.c.occurred_at <= cr.until)
            return sa.exists().where(*conds)

        def template(code: str) -> str:
            return self.logbook.templates._get(conn, check_code(code, "template code")).code

        def group(code: str) -> str:
            return self.logbook.templates._check_group(conn, code)

        history = False
        if cr.with_template:
            clauses.append(has_entry(template=template(cr.with_template)))
            history = True
        if cr.with_group:
            clauses.append(has_entry(group=group(cr.with_group)))
            history = True
        if cr.without_template:
            clauses.append(~has_entry(template=template(cr.without_template)))
            history = True
        if cr.without_group:
            clauses.append(~has_entry(group=group(cr.without_group)))
            history = True
        if not history and cr.no_interaction_since is not None:
            clauses.append(~has_entry())
        elif not history and (since is not None or cr.until is not None):
            clauses.append(has_entry())
        return clauses

    def _select(self, conn: Connection, contacts: Iterable[str], criteria: Criteria | None) -> list[str]:
        """Contact numbers (in order, no duplicates) for listed numbers and/or criteria."""
        listed = list(dict.fromkeys(check_code(c, "contact number") for c in contacts))
        if not listed and (criteria is None or criteria.is_empty()):
            raise BadValue("give contact numbers, --from-file, or criteria (--company, --type, --search...)")
        for chunk in _chunks(listed):
            found = set(conn.execute(sa.select(C.c.no).where(C.c.no.in_(chunk))).scalars())
            missing = [n for n in chunk if n not in found]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise NotFound(f"unknown contact {missing[0]!r}{more}; nothing changed")
        selected = dict.fromkeys(listed)
        if criteria is not None and not criteria.is_empty():
            clauses = self._criteria_clauses(conn, criteria)
            for no in conn.execute(sa.select(C.c.no).where(*clauses).order_by(C.c.no)).scalars():
                selected.setdefault(no)
        return list(selected)

    def add(self, no: str, contacts: Iterable[str] = (), criteria: Criteria | None = None, *,
            dry_run: bool = False) -> Selection:
        """Add contacts (listed and/or matching criteria) to an open segment; none twice."""
        no = check_code(no, "segment number")
        with self.db.write() as conn:
            self._get_open(conn, no)
            wanted = self._select(conn, contacts, criteria)
            present = set(conn.execute(sa.select(L.c.contact_no).where(L.c.segment_no == no)).scalars())
            new = [c for c in wanted if c not in present]
            result = Selection(no, changed=len(new), unchanged=len(wanted) - len(new))
            if dry_run or not new:
                return result
            last = conn.execute(sa.select(sa.func.max(L.c.line_no)).where(L.c.segment_no == no)).scalar() or 0
            rows = [{"segment_no": no, "line_no": last + i, "contact_no": c} for i, c in enumerate(new, start=1)]
            stmt = self.db.insert(L).on_conflict_do_nothing(index_elements=["segment_no", "contact_no"])
            conn.execute(stmt, rows)
            return result

    def remove(self, no: str, contacts: Iterable[str] = (), criteria: Criteria | None = None, *,
               dry_run: bool = False) -> Selection:
        """Take contacts (listed and/or matching criteria) out of an open segment."""
        no = check_code(no, "segment number")
        with self.db.write() as conn:
            self._get_open(conn, no)
            wanted = self._select(conn, contacts, criteria)
            present = set(conn.execute(sa.select(L.c.contact_no).where(L.c.segment_no == no)).scalars())
            gone = [c for c in wanted if c in present]
            result = Selection(no, changed=len(gone), unchanged=len(wanted) - len(gone))
            if not dry_run:
                for chunk in _chunks(gone):
                    conn.execute(sa.delete(L).where(L.c.segment_no == no, L.c.contact_no.in_(chunk)))
            return result

    def set_line(self, no: str, contact_no: str, *, template_code: str | None = None,
                 description: str | None = None, reset: bool = False) -> SegmentLine:
        """Personalise one line: its own template and/or description (``reset`` clears both first)."""
        no = check_code(no, "segment number")
        contact_no = check_code(contact_no, "contact number")
        with self.db.write() as conn:
            self._get_open(conn, no)
            line = conn.execute(sa.select(L.c.line_no).where(L.c.segment_no == no, L.c.contact_no == contact_no)).first()
            if line is None:
                raise NotFound(f"contact {contact_no} is not on segment {no} (add it with: ilog segment add {no} {contact_no})")
            values: dict[str, Any] = {"template_code": None, "description": None} if reset else {}
            if template_code is not None:
                values["template_code"] = self.logbook.templates._get(conn, check_code(template_code, "template code")).code
            if description is not None:
                values["description"] = check_text(description, "description", MAX_SUBJECT) or None
            if not values:
                raise BadValue("give --template, --description or --reset")
            conn.execute(sa.update(L).where(L.c.segment_no == no, L.c.line_no == line.line_no).values(**values))
        return next(x for x in self.lines(no) if x.line_no == line.line_no)

    # -- logging ---------------------------------------------------------------------

    def _drafts(self, conn: Connection, segment: Segment, logged_no: str | None,
                progress: Callable[[int, int], None] | None) -> list[Interaction]:
        """One prepared draft per line, built in memory from three queries."""
        rows = conn.execute(
            sa.select(L.c.line_no, L.c.contact_no, L.c.template_code, L.c.description, C.c.type, C.c.company_no,
                      C.c.salesperson_code)
            .join(C, C.c.no == L.c.contact_no).where(L.c.segment_no == segment.no).order_by(L.c.line_no)
        ).all()
        if not rows:
            raise Refused(f"segment {segment.no} has no lines: add contacts first (ilog segment add)")
        codes = {r.template_code for r in rows if r.template_code}
        if segment.template_code:
            codes.add(segment.template_code)
        templates = {r.code: r for r in conn.execute(sa.select(P).where(P.c.code.in_(sorted(codes))))} if codes else {}

        moment = segment.date or dates.now()
        user = self.logbook.user
        # the values every line of a template shares, computed once per template
        shared: dict[str | None, dict[str, Any]] = {}

        def base(code: str | None, line_no: int, contact_no: str) -> dict[str, Any]:
            values = shared.get(code)
            if values is not None:
                return values
            if code is None:
                raise Refused(f"segment {segment.no} line {line_no} (contact {contact_no}) has no template: give the "
                              f"segment one (ilog segment edit {segment.no} --template T) or the line one "
                              f"(ilog segment line {segment.no} {contact_no} --template T); nothing was logged")
            t = templates.get(code)
            if t is None:
                raise NotFound(f"segment {segment.no} line {line_no} (contact {contact_no}): unknown template "
                               f"{code!r}; nothing was logged")
            values = dict(_DEFAULTS)
            values.update(
                template_code=t.code, group_code=t.group_code, kind=t.kind, flow=t.flow,
                initiated_by=t.initiated_by, cost=t.unit_cost, duration_min=t.unit_duration_min,
                attempt_failed=t.attempt_failed, correspondence=t.correspondence,
                campaign_no=segment.campaign_no or t.campaign_no, attachment_id=t.attachment_id,
                subject=segment.subject or segment.description or t.description,
                occurred_at=moment, user_id=user, source="segment", segment_no=segment.no,
                logged_segment_no=logged_no,
            )
            shared[code] = values
            return values

        hooks = self.logbook.plugins.has("enrich_interaction") or self.logbook.plugins.has("validate_interaction")
        check = self.logbook.prepare if hooks else self.logbook.check
        checked: set[Any] = set()
        new = object.__new__
        drafts: list[Interaction] = []
        total = len(rows)
        step = max(1, total // 100)
        default_template, default_salesperson = segment.template_code, segment.salesperson_code
        for index, (line_no, contact_no, line_template, description, contact_type, company_no,
                    salesperson) in enumerate(rows):
            code = line_template or default_template
            values = shared.get(code) or base(code, line_no, contact_no)
            draft = new(Interaction)
            state = draft.__dict__
            state.update(values)
            state["extra"] = {}
            state["contact_no"] = contact_no
            state["company_no"] = company_no if contact_type == "person" else contact_no
            salesperson = state["salesperson_code"] = default_salesperson or salesperson
            if description:
                state["subject"] = description
            # Without enrich/validate hooks a draft is its template's values plus values
            # already checked when they were stored; checking one draft per distinct shape
            # proves them all. With hooks, every draft goes through the whole pipeline.
            if hooks:
                check(draft)
            else:
                shape = (code, salesperson, description)
                if shape not in checked:
                    check(draft)
                    checked.add(shape)
            drafts.append(draft)
            if progress is not None and (index + 1) % step == 0:
                progress(index + 1, total)
        if progress is not None:
            progress(total, total)
        return drafts

    def log(self, no: str, *, follow_up: bool = False, dry_run: bool = False,
            progress: Callable[[int, int], None] | None = None) -> LogResult:
        """Log the segment: one entry per line, all or nothing, then the logged segment.

        Every line becomes a draft (template from the line, else the segment) that goes
        through enrich, the core checks and validate. Only when all passed are the entries
        inserted in bulk, in one transaction that also records the logged segment and
        closes the segment (and, with ``follow_up``, creates a new open segment with the
        same contacts). An error on any line leaves no entry and the segment open.
        ``progress(done, total)`` is called while the drafts are built.
        """
        no = check_code(no, "segment number")
        for _attempt in range(5):
            with self.db.read() as conn:
                segment = self._get(conn, no)
                if segment.state != "open":
                    raise Refused(f"segment {no} was already logged as {segment.logged_segment_no}: "
                                  "a segment is logged only once")
                predicted = self._predict(conn)  # hooks see the number the entries will carry
                drafts = self._drafts(conn, segment, predicted, progress)
            if dry_run:
                return LogResult(no, None, len(drafts), dry_run=True, drafts=drafts)
            try:
                return self._write(segment, drafts, predicted, follow_up)
            except _NumberTaken:
                continue  # another process logged a segment meanwhile: number again
        raise Refused("other segments kept being logged at the same time; run the command again")

    def _predict(self, conn: Connection) -> str:
        """The number the logged-segment series will give next (checked again when writing)."""
        series = models.number_series
        last = conn.execute(sa.select(series.c.last_no).where(series.c.code == "logged-segment")).scalar()
        if last is None:
            raise NotFound("number series 'logged-segment' does not exist")
        return numbering.format_no(conn, "logged-segment", int(last) + 1)

    def _write(self, segment: Segment, drafts: list[Interaction], logged_no: str, follow_up: bool) -> LogResult:
        result = LogResult(segment.no, logged_no, len(drafts))

        def before_commit(conn: Connection, saved: list) -> None:
            taken = numbering.format_no(conn, "logged-segment", numbering.take(conn, "logged-segment"))
            if taken != logged_no:
                raise _NumberTaken()
            closed = conn.execute(sa.update(S).where(S.c.no == segment.no, S.c.state == "open")
                                  .values(state="logged"))
            if closed.rowcount != 1:
                raise Refused(f"segment {segment.no} was logged by another process meanwhile; nothing was logged")
            lines = conn.execute(sa.select(sa.func.count()).select_from(L).where(L.c.segment_no == segment.no)).scalar()
            if lines != len(drafts):
                raise Refused(f"segment {segment.no} changed while it was being logged; nothing was logged, run again")
            numbers = [r.entry_no for r in saved]
            result.entry_nos = numbers
            result.first_entry_no, result.last_entry_no = min(numbers), max(numbers)
            conn.execute(LS.insert().values(
                no=logged_no, segment_no=segment.no, description=segment.description, entry_count=len(numbers),
                first_entry_no=result.first_entry_no, last_entry_no=result.last_entry_no, logged_at=dates.now(),
                logged_by=self.logbook.user, cancelled=False))
            if follow_up:
                result.follow_up_segment_no = self._follow_up(conn, segment)

        self.logbook.save_prepared(drafts, before_commit=before_commit)
        return result

    def _follow_up(self, conn: Connection, segment: Segment) -> str:
        """A new open segment with the same header and contacts (no per-line overrides)."""
        no = numbering.take_code(conn, "segment", lambda n: self._exists(conn, n))
        description = f"Follow-up on segment {segment.no}: {segment.description}"[:MAX_NAME]
        conn.execute(S.insert().values(
            no=no, description=description, template_code=segment.template_code, date=None,
            salesperson_code=segment.salesperson_code, campaign_no=segment.campaign_no, subject=segment.subject,
            state="open", created_at=dates.now(), created_by=self.logbook.user))
        conn.execute(L.insert().from_select(
            ["segment_no", "line_no", "contact_no"],
            sa.select(sa.literal(no, type_=L.c.segment_no.type), L.c.line_no, L.c.contact_no)
            .where(L.c.segment_no == segment.no)))
        return no

    # -- cancelling a logged segment -------------------------------------------------

    def cancel(self, logged_no: str, *, restore: bool = False, dry_run: bool = False) -> "ChangeResult":
        """Cancel every entry of a logged segment, or with ``restore`` undo that, as a whole."""
        logged_no = check_code(logged_no, "logged segment number")
        with self.db.read() as conn:
            logged = self._get_logged(conn, logged_no)
        if restore and not logged.cancelled:
            raise Refused(f"logged segment {logged_no} is not cancelled")
        if not restore and logged.cancelled:
            raise Refused(f"logged segment {logged_no} is already cancelled")
        flt = LogFilter(logged_segment_no=logged_no, cancelled="only" if restore else "exclude",
                        postponed="include", newest_first=False)

        def mark(conn: Connection, _result: Any) -> None:
            changed = conn.execute(sa.update(LS).where(LS.c.no == logged_no, LS.c.cancelled.is_(restore))
                                   .values(cancelled=not restore))
            if changed.rowcount != 1:
                raise Refused(f"logged segment {logged_no} was changed by another process meanwhile; nothing changed")

        if restore:
            return self.logbook.change(None, flt, dry_run=dry_run, hook="interaction_restored",
                                       refuse=lambda r: None, before_commit=mark,
                                       values=lambda r: {"cancelled": False, "cancelled_at": None})
        now = dates.now()
        return self.logbook.change(None, flt, dry_run=dry_run, hook="interaction_cancelled",
                                   refuse=lambda r: None, before_commit=mark,
                                   values=lambda r: {"cancelled": True, "cancelled_at": now})


#: the values of a fresh Interaction, for drafts built without running its __init__
_DEFAULTS: dict[str, Any] = {k: v for k, v in Interaction(contact_no=None).__dict__.items() if k != "extra"}
