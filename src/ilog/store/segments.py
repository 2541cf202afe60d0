"""Segments, their lines and logged segments in the database."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import LOGGED_FIELDS, SEGMENT_FIELDS, Criteria, LoggedSegment, Segment, SegmentLine, from_row
from .contacts import chunks, like
from .tables import contact as C
from .tables import interaction as I  # noqa: E741
from .tables import logged_segment as LS
from .tables import segment as S
from .tables import segment_line as L

if TYPE_CHECKING:
    from .unit import UnitOfWork



def _segment_query() -> sa.Select:
    count = sa.select(sa.func.count()).select_from(L).where(L.c.segment_no == S.c.no).scalar_subquery()
    logged = sa.select(sa.func.max(LS.c.no)).where(LS.c.segment_no == S.c.no).scalar_subquery()
    return sa.select(S, count.label("line_count"), logged.label("logged_segment_no"))


def _segment(row: Any) -> Segment:
    return from_row(Segment, {name: row[name] for name in SEGMENT_FIELDS})


def _logged(row: Any) -> LoggedSegment:
    return from_row(LoggedSegment, {name: row[name] for name in LOGGED_FIELDS})


def _has_entry(*, template: str | None = None, group: str | None = None, since: datetime | None = None,
               until: datetime | None = None) -> Any:
    """EXISTS an entry of the contact (not cancelled, not postponed) matching these."""
    conds = [I.c.contact_no == C.c.no, I.c.cancelled.is_not(True), I.c.postponed.is_not(True)]
    if template:
        conds.append(I.c.template_code == template)
    if group:
        conds.append(I.c.group_code == group)
    if since is not None:
        conds.append(I.c.occurred_at >= since)
    if until is not None:
        conds.append(I.c.occurred_at <= until)
    return sa.exists().where(*conds)


class SegmentStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- segments ------------------------------------------------------------------------

    def get(self, no: str, *, lock: bool = False) -> Segment | None:
        """The segment with its line count; ``lock`` serialises writers of one segment on
        PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
        if lock and self.uow.execute(sa.select(S.c.no).where(S.c.no == no).with_for_update()).first() is None:
            return None
        row = self.uow.execute(_segment_query().where(S.c.no == no)).mappings().first()
        return _segment(row) if row else None

    def exists(self, no: str) -> bool:
        return self.uow.execute(sa.select(S.c.no).where(S.c.no == no)).first() is not None

    @staticmethod
    def _clauses(state: str | None, text: str | None) -> list[Any]:
        clauses: list[Any] = []
        if state:
            clauses.append(S.c.state == state)
        if text:
            pattern = like(text)
            clauses.append(sa.or_(sa.func.lower(S.c.no).like(pattern, escape="\\"),
                                  sa.func.lower(S.c.description).like(pattern, escape="\\")))
        return clauses

    def list(self, state: str | None = None, *, text: str | None = None, limit: int | None = None) -> list[Segment]:
        """Segments by number, in a state, their number or description containing ``text``."""
        stmt = _segment_query().where(*self._clauses(state, text)).order_by(S.c.no)
        if limit:
            stmt = stmt.limit(limit)
        return [_segment(r) for r in self.uow.execute(stmt).mappings()]

    def count(self, state: str | None = None, *, text: str | None = None) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(S)
                                    .where(*self._clauses(state, text))).scalar_one())

    def insert(self, values: dict[str, Any]) -> None:
        self.uow.execute(S.insert().values(**values))

    def update(self, no: str, values: dict[str, Any]) -> None:
        self.uow.execute(sa.update(S).where(S.c.no == no).values(**values))

    def close(self, no: str) -> bool:
        """Mark an open segment logged; False if it was not open any more."""
        return self.uow.execute(sa.update(S).where(S.c.no == no, S.c.state == "open").values(state="logged")).rowcount == 1

    # -- lines ---------------------------------------------------------------------------

    @staticmethod
    def _line_clauses(no: str, text: str | None) -> list[Any]:
        clauses: list[Any] = [L.c.segment_no == no]
        if text:
            pattern = like(text)
            clauses.append(sa.or_(sa.func.lower(L.c.contact_no).like(pattern, escape="\\"),
                                  sa.func.lower(C.c.name).like(pattern, escape="\\")))
        return clauses

    def lines(self, no: str, *, text: str | None = None, limit: int | None = None) -> list[SegmentLine]:
        """A segment's lines in order; ``text``: those whose contact number or name contains it."""
        stmt = (sa.select(L.c.segment_no, L.c.line_no, L.c.contact_no, C.c.name.label("contact_name"),
                          C.c.type.label("contact_type"), C.c.company_no, L.c.template_code, L.c.description,
                          L.c.owner)
                .join(C, C.c.no == L.c.contact_no).where(*self._line_clauses(no, text)).order_by(L.c.line_no))
        if limit:
            stmt = stmt.limit(limit)
        return [from_row(SegmentLine, dict(r)) for r in self.uow.execute(stmt).mappings()]

    def line_count(self, no: str, *, text: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(L)
        if text:
            stmt = stmt.join(C, C.c.no == L.c.contact_no)
        return int(self.uow.execute(stmt.where(*self._line_clauses(no, text))).scalar())

    def contacts_on(self, no: str) -> set[str]:
        return set(self.uow.execute(sa.select(L.c.contact_no).where(L.c.segment_no == no)).scalars())

    def line_of(self, no: str, contact_no: str) -> int | None:
        return self.uow.execute(sa.select(L.c.line_no).where(L.c.segment_no == no, L.c.contact_no == contact_no)).scalar()

    def add_lines(self, no: str, contact_nos: list[str]) -> None:
        last = self.uow.execute(sa.select(sa.func.max(L.c.line_no)).where(L.c.segment_no == no)).scalar() or 0
        rows = [{"segment_no": no, "line_no": last + i, "contact_no": c} for i, c in enumerate(contact_nos, start=1)]
        stmt = self.uow.upsert(L).on_conflict_do_nothing(index_elements=["segment_no", "contact_no"])
        self.uow.execute(stmt, rows)

    def remove_lines(self, no: str, contact_nos: list[str]) -> None:
        for chunk in chunks(contact_nos):
            self.uow.execute(sa.delete(L).where(L.c.segment_no == no, L.c.contact_no.in_(chunk)))

    def set_line(self, no: str, line_no: int, values: dict[str, Any]) -> None:
        self.uow.execute(sa.update(L).where(L.c.segment_no == no, L.c.line_no == line_no).values(**values))

    def line_rows(self, no: str) -> list[Any]:
        """What logging needs of each line: line, contact, its type, company and salesperson, overrides."""
        return self.uow.execute(
            sa.select(L.c.line_no, L.c.contact_no, L.c.template_code, L.c.description, C.c.type, C.c.company_no,
                      C.c.salesperson_code, L.c.owner)
            .join(C, C.c.no == L.c.contact_no).where(L.c.segment_no == no).order_by(L.c.line_no)).all()

    def copy_lines(self, source: str, target: str) -> None:
        """Give ``target`` the contacts of ``source`` (a follow-up segment), without overrides."""
        self.uow.execute(L.insert().from_select(
            ["segment_no", "line_no", "contact_no"],
            sa.select(sa.literal(target, type_=L.c.segment_no.type), L.c.line_no, L.c.contact_no)
            .where(L.c.segment_no == source)))

    def contacts_matching(self, cr: Criteria) -> list[str]:
        """Contact numbers matching criteria (checked by the service), in order."""
        clauses = self.uow.contacts.clauses(type=cr.type, company_no=cr.company_no, salesperson=cr.salesperson,
                                            text=cr.text)
        since = cr.no_interaction_since or cr.since
        window = {"since": since, "until": cr.until}
        history = [
            _has_entry(template=cr.with_template, **window) if cr.with_template else None,
            _has_entry(group=cr.with_group, **window) if cr.with_group else None,
            ~_has_entry(template=cr.without_template, **window) if cr.without_template else None,
            ~_has_entry(group=cr.without_group, **window) if cr.without_group else None,
        ]
        clauses += [h for h in history if h is not None]
        if not any(h is not None for h in history):
            if cr.no_interaction_since is not None:
                clauses.append(~_has_entry(**window))
            elif since is not None or cr.until is not None:
                clauses.append(_has_entry(**window))
        return self.uow.contacts.numbers(clauses)

    # -- logged segments -----------------------------------------------------------------

    @staticmethod
    def _logged_clauses(segment_no: str | None, text: str | None) -> list[Any]:
        clauses: list[Any] = []
        if segment_no:
            clauses.append(LS.c.segment_no == segment_no)
        if text:
            pattern = like(text)
            clauses.append(sa.or_(sa.func.lower(LS.c.no).like(pattern, escape="\\"),
                                  sa.func.lower(LS.c.segment_no).like(pattern, escape="\\"),
                                  sa.func.lower(LS.c.description).like(pattern, escape="\\")))
        return clauses

    def logged(self, segment_no: str | None = None, *, text: str | None = None, limit: int | None = None
               ) -> list[LoggedSegment]:
        stmt = sa.select(LS).where(*self._logged_clauses(segment_no, text)).order_by(LS.c.logged_at, LS.c.no)
        if limit:
            stmt = stmt.limit(limit)
        return [_logged(r) for r in self.uow.execute(stmt).mappings()]

    def logged_count(self, segment_no: str | None = None, *, text: str | None = None) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(LS)
                                    .where(*self._logged_clauses(segment_no, text))).scalar_one())

    def get_logged(self, no: str) -> LoggedSegment | None:
        row = self.uow.execute(sa.select(LS).where(LS.c.no == no)).mappings().first()
        return _logged(row) if row else None

    def insert_logged(self, logged: LoggedSegment) -> None:
        self.uow.execute(LS.insert().values(**{name: getattr(logged, name) for name in LOGGED_FIELDS}))

    def mark_logged_cancelled(self, no: str, cancelled: bool) -> bool:
        """Flip a logged segment's flag; False if another process already did."""
        return self.uow.execute(sa.update(LS).where(LS.c.no == no, LS.c.cancelled.is_(not cancelled))
                                .values(cancelled=cancelled)).rowcount == 1

