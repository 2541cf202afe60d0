"""Segments: gather contacts, personalise lines, and log one interaction per line at once.

A segment is a working list: a header (description, default template, date, salesperson,
campaign, subject) and lines of contacts, each line able to override the template and the
description. :meth:`Segments.log` turns every line into a draft in memory (a handful of
queries, whatever the number of lines), runs the same pipeline as every other save
(``enrich_interaction``, the core checks, ``validate_interaction``), and only if every line
passed writes all entries, the logged segment and the segment's new state in ONE unit of
work. Any error leaves no entry and the segment open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..domain import dates, rules, values
from ..domain.choices import MAX_NAME, MAX_SUBJECT, MAX_USER, SEGMENT_STATES
from ..domain.records import (
    SEGMENT_EDITABLE,
    ChangeResult,
    Criteria,
    Interaction,
    LoggedSegment,
    LogFilter,
    LogResult,
    Segment,
    SegmentBase,
    SegmentLine,
    Selection,
    from_row,
)
from ..errors import AlreadyExists, BadValue, NotFound, Refused

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext
    from .entries import Entries


class _NumberTaken(Exception):
    """Another process logged a segment between our prediction and our transaction."""


#: the values of a fresh Interaction, for drafts built without validation (100,000 lines)
_DEFAULTS: dict[str, Any] = {name: info.get_default(call_default_factory=True)
                             for name, info in Interaction.model_fields.items()}


class Segments:
    """Creating, filling, personalising, logging and cancelling segments."""

    def __init__(self, ctx: "ServiceContext", entries: "Entries"):
        self.ctx = ctx
        self.entries = entries

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def require(uow: "UnitOfWork", no: str, *, lock: bool = False) -> Segment:
        segment = uow.segments.get(no, lock=lock)
        if segment is None:
            raise NotFound(f"unknown segment {no!r}")
        return segment

    def _open(self, uow: "UnitOfWork", no: str) -> Segment:
        segment = self.require(uow, no, lock=True)
        if segment.state != "open":
            raise Refused(f"segment {no} was logged as {segment.logged_segment_no}: it cannot be changed")
        return segment

    def get(self, no: str) -> Segment:
        no = values.code(no, "segment number")
        with self.ctx.db.unit() as uow:
            return self.require(uow, no)

    def list(self, state: str | None = None, *, text: str | None = None, limit: int | None = None) -> list[Segment]:
        """Segments with their line counts, open and logged alike unless ``state`` says;
        ``text``: those whose number or description contains it."""
        state, text, limit = self._listing(state, text, limit)
        with self.ctx.db.unit() as uow:
            return uow.segments.list(state, text=text, limit=limit)

    def count(self, state: str | None = None, *, text: str | None = None) -> int:
        """How many segments :meth:`list` would list without a limit."""
        state, text, _ = self._listing(state, text, None)
        with self.ctx.db.unit() as uow:
            return uow.segments.count(state, text=text)

    @staticmethod
    def _listing(state: str | None, text: str | None, limit: int | None) -> tuple[Any, Any, Any]:
        return (values.choice(state, "segment state", SEGMENT_STATES) if state else None,
                values.text(text, "search text", 250) if text else None,
                values.limit(limit) if limit is not None else None)

    def lines(self, no: str, *, text: str | None = None, limit: int | None = None) -> list[SegmentLine]:
        """A segment's lines in order, with each contact's name, type and company; ``text``:
        the lines whose contact number or name contains it."""
        no = values.code(no, "segment number")
        _, text, limit = self._listing(None, text, limit)
        with self.ctx.db.unit() as uow:
            self.require(uow, no)
            return uow.segments.lines(no, text=text, limit=limit)

    def line_count(self, no: str, *, text: str | None = None) -> int:
        no = values.code(no, "segment number")
        _, text, _ = self._listing(None, text, None)
        with self.ctx.db.unit() as uow:
            return uow.segments.line_count(no, text=text)

    def logged(self, segment_no: str | None = None, *, text: str | None = None, limit: int | None = None
               ) -> list[LoggedSegment]:
        """Logged segments, oldest first; ``text``: those whose numbers or description contain it."""
        no = values.code(segment_no, "segment number") if segment_no else None
        _, text, limit = self._listing(None, text, limit)
        with self.ctx.db.unit() as uow:
            return uow.segments.logged(no, text=text, limit=limit)

    def logged_count(self, segment_no: str | None = None, *, text: str | None = None) -> int:
        no = values.code(segment_no, "segment number") if segment_no else None
        _, text, _ = self._listing(None, text, None)
        with self.ctx.db.unit() as uow:
            return uow.segments.logged_count(no, text=text)

    def get_logged(self, no: str) -> LoggedSegment:
        no = values.code(no, "logged segment number")
        with self.ctx.db.unit() as uow:
            return self._logged(uow, no)

    @staticmethod
    def _logged(uow: "UnitOfWork", no: str) -> LoggedSegment:
        logged = uow.segments.get_logged(no)
        if logged is None:
            raise NotFound(f"unknown logged segment {no!r}")
        return logged

    # -- the header ----------------------------------------------------------------------------

    def _header(self, uow: "UnitOfWork", given: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(SEGMENT_EDITABLE))
        if unknown:
            raise BadValue(f"unknown segment field {unknown[0]!r}")
        changes = {k: v for k, v in given.items() if v is not None}
        header = values.validated(SegmentBase, {**base, **changes})
        if changes.get("template_code") and uow.templates.get(header.template_code) is None:
            raise NotFound(f"unknown template {header.template_code!r}")
        return {name: getattr(header, name) for name in changes}

    def create(self, description: str, *, no: str | None = None, **given: Any) -> Segment:
        """A new, empty, open segment; the number is given or drawn from the segment series."""
        if description is None or not str(description).strip():
            raise BadValue("a segment needs a description")
        no = values.code(no, "segment number") if no else None
        with self.ctx.db.unit(write=True) as uow:
            header = self._header(uow, {"description": description, **given}, {"description": description})
            if no is not None and uow.segments.exists(no):
                raise AlreadyExists(f"segment {no} already exists")
            if no is None:
                no = uow.numbers.take_code("segment", uow.segments.exists)
            uow.segments.insert({"no": no, "state": "open", "created_at": dates.now(), "created_by": self.ctx.user,
                                 **header})
            return self.require(uow, no)

    def edit(self, no: str, **given: Any) -> Segment:
        """Change the header of an open segment (description, template, date, salesperson...)."""
        no = values.code(no, "segment number")
        with self.ctx.db.unit(write=True) as uow:
            current = self._open(uow, no)
            changes = self._header(uow, given, {"description": current.description})
            if changes:
                uow.segments.update(no, changes)
            return self.require(uow, no)

    # -- lines ---------------------------------------------------------------------------------

    @staticmethod
    def _check_criteria(uow: "UnitOfWork", cr: Criteria) -> None:
        """Criteria that contradict each other, or name a template or group that does not exist."""
        if cr.no_interaction_since is not None and (cr.since is not None or cr.with_template or cr.with_group):
            raise BadValue("--no-interaction-since cannot be combined with --since, --with-template or --with-group")
        since = cr.no_interaction_since or cr.since
        if since is not None and cr.until is not None and since > cr.until:
            raise BadValue("--since is after --until")
        for code in (cr.with_template, cr.without_template):
            if code and uow.templates.get(code) is None:
                raise NotFound(f"unknown template {code!r}")
        for code in (cr.with_group, cr.without_group):
            if code and uow.groups.get(code) is None:
                raise NotFound(f"unknown interaction group {code!r}")
        if cr.company_no:
            company = uow.contacts.get(cr.company_no)
            if company is None:
                raise NotFound(f"unknown company {cr.company_no!r}")
            rules.check_company(company, None)

    def _select(self, uow: "UnitOfWork", contacts: Iterable[str], criteria: Criteria | None) -> list[str]:
        """Contact numbers (in order, no duplicates) for listed numbers and/or criteria."""
        listed = list(dict.fromkeys(values.code(c, "contact number") for c in contacts))
        if not listed and (criteria is None or criteria.is_empty()):
            raise BadValue("give contact numbers, --from-file, or criteria (--company, --type, --search...)")
        found = uow.contacts.existing(listed)
        missing = [n for n in listed if n not in found]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise NotFound(f"unknown contact {missing[0]!r}{more}; nothing changed")
        selected = dict.fromkeys(listed)
        if criteria is not None and not criteria.is_empty():
            self._check_criteria(uow, criteria)
            for no in uow.segments.contacts_matching(criteria):
                selected.setdefault(no)
        return list(selected)

    def add(self, no: str, contacts: Iterable[str] = (), criteria: Criteria | None = None, *,
            dry_run: bool = False) -> Selection:
        """Add contacts (listed and/or matching criteria) to an open segment; none twice."""
        no = values.code(no, "segment number")
        with self.ctx.db.unit(write=True) as uow:
            self._open(uow, no)
            wanted = self._select(uow, contacts, criteria)
            present = uow.segments.contacts_on(no)
            new = [c for c in wanted if c not in present]
            result = Selection(segment_no=no, changed=len(new), unchanged=len(wanted) - len(new), contact_nos=new)
            if not dry_run and new:
                uow.segments.add_lines(no, new)
            return result

    def remove(self, no: str, contacts: Iterable[str] = (), criteria: Criteria | None = None, *,
               dry_run: bool = False) -> Selection:
        """Take contacts (listed and/or matching criteria) out of an open segment."""
        no = values.code(no, "segment number")
        with self.ctx.db.unit(write=True) as uow:
            self._open(uow, no)
            wanted = self._select(uow, contacts, criteria)
            present = uow.segments.contacts_on(no)
            gone = [c for c in wanted if c in present]
            result = Selection(segment_no=no, changed=len(gone), unchanged=len(wanted) - len(gone), contact_nos=gone)
            if not dry_run:
                uow.segments.remove_lines(no, gone)
            return result

    def set_line(self, no: str, contact_no: str, *, template_code: str | None = None,
                 description: str | None = None, owner: str | None = None, reset: bool = False) -> SegmentLine:
        """Personalise one line: its own template, description and owner (``reset`` clears them first)."""
        no = values.code(no, "segment number")
        contact_no = values.code(contact_no, "contact number")
        with self.ctx.db.unit(write=True) as uow:
            self._open(uow, no)
            line_no = uow.segments.line_of(no, contact_no)
            if line_no is None:
                raise NotFound(f"contact {contact_no} is not on segment {no} (add it with: "
                               f"ilog segment add {no} {contact_no})")
            changes: dict[str, Any] = {"template_code": None, "description": None, "owner": None} if reset else {}
            if template_code is not None:
                code = values.code(template_code, "template code")
                if uow.templates.get(code) is None:
                    raise NotFound(f"unknown template {code!r}")
                changes["template_code"] = code
            if description is not None:
                changes["description"] = values.text(description, "description", MAX_SUBJECT) or None
            if owner is not None:
                changes["owner"] = values.text(owner, "owner", MAX_USER, strip=True) or None
            if not changes:
                raise BadValue("give a template (--template), a description (--description), an owner (--owner) "
                               "or --reset")
            uow.segments.set_line(no, line_no, changes)
            return next(x for x in uow.segments.lines(no) if x.line_no == line_no)

    # -- logging -------------------------------------------------------------------------------

    def _drafts(self, uow: "UnitOfWork", segment: Segment, logged_no: str | None,
                progress: Callable[[int, int], None] | None) -> list[Interaction]:
        """One prepared draft per line, built in memory from three queries."""
        rows = uow.segments.line_rows(segment.no)
        if not rows:
            raise Refused(f"segment {segment.no} has no lines: add contacts first (ilog segment add)")
        codes = {r.template_code for r in rows if r.template_code}
        if segment.template_code:
            codes.add(segment.template_code)
        templates = uow.templates.many(codes)
        moment = segment.date or dates.now()
        user = self.ctx.user
        # the values every line of a template shares, computed once per template
        shared: dict[str | None, dict[str, Any]] = {}

        def base(code: str | None, line_no: int, contact_no: str) -> dict[str, Any]:
            if code is None:
                raise Refused(f"segment {segment.no} line {line_no} (contact {contact_no}) has no template: give the "
                              f"segment one (ilog segment edit {segment.no} --template T) or the line one "
                              f"(ilog segment line {segment.no} {contact_no} --template T); nothing was logged")
            template = templates.get(code)
            if template is None:
                raise NotFound(f"segment {segment.no} line {line_no} (contact {contact_no}): unknown template "
                               f"{code!r}; nothing was logged")
            result = dict(_DEFAULTS)
            result.update(rules.from_template(template))
            result.update(campaign_no=segment.campaign_no or template.campaign_no,
                          subject=segment.subject or segment.description or template.description,
                          occurred_at=moment, user_id=user, source="segment", segment_no=segment.no,
                          logged_segment_no=logged_no, owner=segment.owner, opportunity_no=segment.opportunity_no)
            shared[code] = result
            return result

        plugins = self.ctx.plugins
        hooks = plugins.has("enrich_interaction") or plugins.has("validate_interaction")
        checked: set[Any] = set()
        drafts: list[Interaction] = []
        total = len(rows)
        step = max(1, total // 100)
        default_template, default_salesperson = segment.template_code, segment.salesperson_code
        for index, (line_no, contact_no, line_template, description, contact_type, company_no,
                    salesperson, line_owner) in enumerate(rows):
            code = line_template or default_template
            state = dict(shared.get(code) or base(code, line_no, contact_no))
            state["extra"] = {}
            state["contact_no"] = contact_no
            state["company_no"] = rules.company_of(contact_type, contact_no, company_no)
            salesperson = state["salesperson_code"] = default_salesperson or salesperson
            if description:
                state["subject"] = description
            if line_owner:
                state["owner"] = line_owner
            draft = from_row(Interaction, state)
            # Without enrich/validate hooks a draft is its template's values plus values
            # already checked when they were stored; checking one draft per distinct shape
            # proves them all. With hooks, every draft goes through the whole pipeline.
            if hooks:
                self.entries.prepare(draft, uow=uow)
            else:
                shape = (code, salesperson, description, line_owner)
                if shape not in checked:
                    self.entries.check(draft)
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
        inserted in bulk, in one unit of work that also records the logged segment and
        closes the segment (and, with ``follow_up``, creates a new open segment with the
        same contacts). An error on any line leaves no entry and the segment open.
        ``progress(done, total)`` is called while the drafts are built.
        """
        no = values.code(no, "segment number")
        for _attempt in range(5):
            with self.ctx.db.unit() as uow:
                segment = self.require(uow, no)
                if segment.state != "open":
                    raise Refused(f"segment {no} was already logged as {segment.logged_segment_no}: "
                                  "a segment is logged only once")
                # hooks see the number the entries will carry (checked again when writing)
                predicted = uow.numbers.formatter("logged-segment")(uow.numbers.last("logged-segment") + 1)
                drafts = self._drafts(uow, segment, predicted, progress)
            if dry_run:
                return LogResult(segment_no=no, logged_segment_no=None, entry_count=len(drafts), dry_run=True,
                                 drafts=drafts)
            try:
                return self._write(segment, drafts, predicted, follow_up)
            except _NumberTaken:
                continue  # another process logged a segment meanwhile: number again
        raise Refused("other segments kept being logged at the same time; run the command again")

    def _write(self, segment: Segment, drafts: list[Interaction], logged_no: str, follow_up: bool) -> LogResult:
        with self.ctx.db.unit(write=True) as uow:
            results = self.entries.insert(uow, drafts)
            taken = uow.numbers.formatter("logged-segment")(uow.numbers.take("logged-segment"))
            if taken != logged_no:
                raise _NumberTaken()
            if not uow.segments.close(segment.no):
                raise Refused(f"segment {segment.no} was logged by another process meanwhile; nothing was logged")
            if uow.segments.line_count(segment.no) != len(drafts):
                raise Refused(f"segment {segment.no} changed while it was being logged; nothing was logged, run again")
            numbers = [r.entry_no for r in results]
            logged = LoggedSegment.model_construct(
                no=logged_no, segment_no=segment.no, description=segment.description, entry_count=len(numbers),
                first_entry_no=min(numbers), last_entry_no=max(numbers), logged_at=dates.now(),
                logged_by=self.ctx.user, cancelled=False)
            uow.segments.insert_logged(logged)
            follow = self._follow_up(uow, segment) if follow_up else None
        self.entries.notify_saved(results)
        return LogResult(segment_no=segment.no, logged_segment_no=logged_no, entry_count=len(numbers),
                         first_entry_no=logged.first_entry_no, last_entry_no=logged.last_entry_no,
                         follow_up_segment_no=follow, entry_nos=numbers)

    def _follow_up(self, uow: "UnitOfWork", segment: Segment) -> str:
        """A new open segment with the same header and contacts (no per-line overrides)."""
        no = uow.numbers.take_code("segment", uow.segments.exists)
        uow.segments.insert({
            "no": no, "description": f"Follow-up on segment {segment.no}: {segment.description}"[:MAX_NAME],
            "template_code": segment.template_code, "date": None, "salesperson_code": segment.salesperson_code,
            "campaign_no": segment.campaign_no, "subject": segment.subject, "state": "open",
            "created_at": dates.now(), "created_by": self.ctx.user, "owner": segment.owner,
            "opportunity_no": segment.opportunity_no})
        uow.segments.copy_lines(segment.no, no)
        return no

    # -- cancelling a logged segment -----------------------------------------------------------

    def cancel(self, logged_no: str, *, restore: bool = False, dry_run: bool = False,
               progress: Callable[[int, int | None], None] | None = None) -> ChangeResult:
        """Cancel every entry of a logged segment, or with ``restore`` undo that, as a whole;
        ``progress(done, total)`` is told as the entries are written."""
        logged_no = values.code(logged_no, "logged segment number")
        with self.ctx.db.unit() as uow:
            logged = self._logged(uow, logged_no)
        if restore and not logged.cancelled:
            raise Refused(f"logged segment {logged_no} is not cancelled")
        if not restore and logged.cancelled:
            raise Refused(f"logged segment {logged_no} is already cancelled")
        flt = LogFilter(logged_segment_no=logged_no, cancelled="only" if restore else "exclude",
                        postponed="include", newest_first=False)
        changes = {"cancelled": False, "cancelled_at": None} if restore else {"cancelled": True,
                                                                               "cancelled_at": dates.now()}
        hook = "interaction_restored" if restore else "interaction_cancelled"
        with self.ctx.db.unit(write=True) as uow:
            # no rule to check per entry: one UPDATE of every entry of the logged segment
            result = self.entries.change(None, flt, refuse=None, changes=changes, dry_run=dry_run, uow=uow,
                                         progress=progress)
            if dry_run:
                return result
            if not uow.segments.mark_logged_cancelled(logged_no, not restore):
                raise Refused(f"logged segment {logged_no} was changed by another process meanwhile; nothing changed")
        self.entries.notify_changed(hook, result.changed)
        return result
