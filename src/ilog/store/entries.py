"""Interaction log entries in the database: the filter as SQL, reads, bulk writes, the purge,
and the idempotency keys, document occurrences and comment lines that go with entries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain import dates
from ..domain.records import Interaction, LogFilter, interaction_from_row
from .tables import document_occurrence as D
from .tables import idempotency_key as K
from .tables import interaction as T
from .tables import interaction_comment as M
from .tables import logged_segment as LS
from .tables import team_member as TM

if TYPE_CHECKING:
    from .unit import UnitOfWork

#: keys per IN (...) query
CHUNK = 500
#: the statements of :meth:`EntryStore.find`, by kind of filter (SQLAlchemy statements are
#: immutable: one may serve every thread)
_FINDS: dict[tuple, sa.Select] = {}
#: the columns the rules for changing logged entries read (:mod:`ilog.domain.rules`)
STATE_COLUMNS = (T.c.entry_no, T.c.cancelled, T.c.postponed, T.c.state, T.c.logged_segment_no, T.c.owner, T.c.user_id)


#: the filter fields compared with one column: equal to the value
_EQUAL = ("company_no", "group_code", "document_type", "document_no", "segment_no", "logged_segment_no", "user_id",
          "evaluation", "state", "source", "salesperson_code", "campaign_no", "opportunity_no")


def _terms(flt: LogFilter) -> list[tuple[str, str, Any]]:
    """The conditions a filter sets, as (how, name, value): plain Python, no SQL. ``name`` is
    the column compared where ``how`` compares one (``equal``, ``in``), else the parameter's.

    ``how`` and ``name`` alone decide a condition's SQL (:func:`_condition`); the value only
    ever reaches it as the bound parameter ``name``. So filters with the same terms but other
    values share one statement (:meth:`EntryStore.find` builds it once).
    """
    terms: list[tuple[str, str, Any]] = []
    if flt.entry_nos is not None:
        terms.append(("in", "entry_no", list(flt.entry_nos)))
    if flt.contact_no:
        terms.append(("rollup" if flt.rollup else "equal", "contact_no", flt.contact_no))
    terms.extend(("equal", name, getattr(flt, name)) for name in _EQUAL if getattr(flt, name) is not None)
    for name in ("template_code", "kind", "owner"):  # one value or any of several
        values = getattr(flt, name)
        if values:
            terms.append(("equal", name, values[0]) if len(values) == 1 else ("in", name, list(values)))
    if flt.team is not None:
        terms.append(("team", "team", flt.team))
    if flt.completed:
        terms.append(("completed", "", None))
    if flt.date_from is not None:
        terms.append(("from", "date_from", flt.date_from))
    if flt.date_to is not None:
        terms.append(("to", "date_to", flt.date_to))
    if flt.cancelled in ("exclude", "only"):
        terms.append((flt.cancelled, "cancelled", None))
    if flt.postponed in ("exclude", "only"):
        terms.append((flt.postponed, "postponed", None))
    if flt.due_before is not None:
        terms.append(("due_before", "due_before", flt.due_before))
    if flt.overdue:
        terms.append(("overdue", "now", dates.now()))
    if flt.text:
        from .contacts import like

        terms.append(("like", "text", like(flt.text)))
    return terms


def _condition(how: str, name: str, bind: Any) -> Any:
    """The SQL of one term; ``bind(name)`` is its value's bound parameter."""
    c = T.c
    if how == "equal":
        return getattr(c, name) == bind(name)
    if how == "in":
        return getattr(c, name).in_(bind(name, expanding=True))
    if how == "rollup":
        value = bind(name)
        return sa.or_(c.contact_no == value, c.company_no == value)
    if how == "team":
        return c.owner.in_(sa.select(TM.c.user_id).where(TM.c.team == bind(name)))
    if how == "completed":
        return sa.and_(c.state == "done", c.completed_at.is_not(None))
    if how == "from":
        return c.occurred_at >= bind(name)
    if how == "to":
        return c.occurred_at <= bind(name)
    # "IS NOT true" (the columns are NOT NULL) rather than "IS false": no index serves it, so
    # SQLite without statistics does not walk the (cancelled, occurred_at) index, which is
    # for finding the few cancelled entries, instead of a contact's own (200 ms, not 0.5 ms)
    if how == "exclude":
        return getattr(c, name).is_not(True)
    if how == "only":
        return getattr(c, name).is_(True)
    if how == "due_before":
        return c.due_at < bind(name)
    if how == "overdue":
        return sa.and_(c.state == "open", c.due_at < bind(name))
    if how == "like":
        return sa.func.lower(c.subject).like(bind(name), escape="\\")
    raise AssertionError(f"no SQL for the filter term {how!r}")


def entry_clauses(flt: LogFilter) -> list[Any]:
    """The WHERE clauses of a filter: the one place that turns entry filters into SQL.

    Timeline, statistics and the purge use it too, so "rolled up", "not cancelled" and
    "not postponed" mean the same everywhere.
    """
    return [_condition(how, name, _bound(value)) for how, name, value in _terms(flt)]


def _bound(value: Any) -> Any:
    """A ``bind`` for :func:`_condition` that carries ``value``: typed by the column it is
    compared with (moments to UTC), as a plain value would be."""
    def bind(key: str, expanding: bool = False) -> Any:
        return sa.bindparam(key, value, type_=sa.types.NULLTYPE, expanding=expanding, unique=True)

    return bind


def _selection(columns: Iterable[Any], clauses: Iterable[Any], flt: LogFilter, limit: Any) -> sa.Select:
    stmt = sa.select(*columns).where(*clauses).order_by(*_order(flt))
    return stmt.limit(limit) if flt.limit else stmt


def _rule_conditions(cutoffs: list[tuple[str, str | None, datetime]]) -> list[tuple[int, Any]]:
    """(index, condition) of each template and group rule, in order of precedence."""
    conditions = []
    for index, (scope, code, _) in enumerate(cutoffs):
        if scope == "template":
            conditions.append((index, T.c.template_code == code))
        elif scope == "group":
            conditions.append((index, T.c.group_code == code))
    default = [index for index, (scope, _, _) in enumerate(cutoffs) if scope == "default"]
    if default:
        conditions.append((default[0], sa.true()))
    return conditions


def retention_cutoff(cutoffs: list[tuple[str, str | None, datetime]]) -> Any:
    """Each entry's retention cut-off as SQL: the first rule that covers it, in order,
    ``CASE WHEN template_code = 'CALL' THEN :c1 ... WHEN group_code = 'SALES' THEN :c2 ELSE
    :default END``; NULL (kept) when no rule covers it. ``cutoffs`` are
    (``template``/``group``/``default``, code, cut-off) in order of precedence."""
    moment = T.c.occurred_at.type
    return sa.case(*[(condition, sa.literal(cutoffs[index][2], type_=moment))
                     for index, condition in _rule_conditions(cutoffs)], else_=sa.null())


def retention_clauses(cutoffs: list[tuple[str, str | None, datetime]]) -> list[Any]:
    """The entries a retention policy deletes now (none without a rule)."""
    if not cutoffs:
        return [sa.false()]
    # the latest cut-off bounds the walk of the occurred_at index: no entry younger is read
    latest = max(c for _, _, c in cutoffs)
    return [T.c.occurred_at < latest, T.c.occurred_at < retention_cutoff(cutoffs)]


def _order_key(flt: LogFilter) -> str:
    """Newest first; open activities by due date, soonest first (those without one last)."""
    if flt.state == "open" and flt.newest_first:
        return "due"
    if flt.completed and flt.newest_first:
        return "completed"
    return "newest" if flt.newest_first else "oldest"


_ORDER_BY = {
    "due": (T.c.due_at.is_(None), T.c.due_at.asc(), T.c.occurred_at.desc(), T.c.entry_no.desc()),
    "completed": (T.c.completed_at.desc(), T.c.entry_no.desc()),
    "newest": (T.c.occurred_at.desc(), T.c.entry_no.desc()),
    "oldest": (T.c.occurred_at.asc(), T.c.entry_no.asc()),
}


def _order(flt: LogFilter) -> tuple[Any, ...]:
    return _ORDER_BY[_order_key(flt)]


def to_interaction(row: Any) -> Interaction:
    """An Interaction from a row of the whole table (a select of it, a RETURNING)."""
    return interaction_from_row(dict(zip(row._fields, row)))


def to_interactions(result: Any, rows: Iterable[Any] | None = None) -> list[Interaction]:
    """The Interactions of a result of whole-table rows (``rows``: some of its rows; default:
    one fetch of them all), the column names read once rather than looked up by name in every
    row (a tenth of the time). Each row's values fill a copy of one dict already holding
    every name: a dict built up from empty grows four times on the way to 37 columns (it
    was half the cost of a page's records)."""
    names = tuple(result.keys())
    blank = dict.fromkeys(names)
    records = []
    for row in result.all() if rows is None else rows:
        values = blank.copy()
        values.update(zip(names, row))
        records.append(interaction_from_row(values))
    return records


class EntryStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- reading -------------------------------------------------------------------------

    def select(self, flt: LogFilter, columns: Iterable[Any] | None = None, *, extra: Iterable[Any] = ()) -> sa.Select:
        return _selection(columns or [T], [*entry_clauses(flt), *extra], flt, flt.limit)

    def find(self, flt: LogFilter) -> list[Interaction]:
        """The entries a filter selects."""
        return to_interactions(self.uow.execute(*self._find(flt)))

    def iter_find(self, flt: LogFilter, batch: int = 1000) -> Iterator[Interaction]:
        stmt, params = self._find(flt)
        result = self.uow.execute(stmt.execution_options(yield_per=batch), params)
        for rows in result.partitions():
            yield from to_interactions(result, rows)

    @staticmethod
    def _find(flt: LogFilter) -> tuple[sa.Select, dict[str, Any]]:
        """The statement of a filter and its values. The statement is built once per kind of
        filter (which terms, what order, whether limited) and run with each filter's values:
        building and keying a new one each time was a fifth of a contact's history."""
        terms = _terms(flt)
        key = (tuple((how, name) for how, name, _ in terms), _order_key(flt), bool(flt.limit))
        stmt = _FINDS.get(key)
        if stmt is None:
            stmt = _selection([T], [_condition(how, name, sa.bindparam) for how, name, _ in terms], flt,
                              sa.bindparam("limit"))
            if len(_FINDS) < 1000:  # kinds of filter in use: a few dozen
                _FINDS[key] = stmt
        params = {name: value for _, name, value in terms if value is not None}
        if flt.limit:
            params["limit"] = flt.limit
        return stmt, params

    def count(self, flt: LogFilter, *extra: Any) -> int:
        return int(self.uow.execute(
            sa.select(sa.func.count()).select_from(T).where(*entry_clauses(flt), *extra)).scalar_one())

    def purgeable(self, flt: LogFilter, before: datetime) -> int:
        """How many cancelled entries a purge with this filter and cut-off would delete."""
        return self.count(flt, T.c.occurred_at < before, T.c.cancelled.is_(True))

    def purgeable_first(self, flt: LogFilter, before: datetime, limit: int) -> list[Interaction]:
        """The first (oldest) entries a purge with this filter and cut-off would delete."""
        stmt = (sa.select(T).where(*entry_clauses(flt), T.c.occurred_at < before, T.c.cancelled.is_(True))
                .order_by(T.c.occurred_at, T.c.entry_no).limit(limit))
        return to_interactions(self.uow.execute(stmt))

    def get(self, entry_no: int) -> Interaction | None:
        row = self.uow.execute(sa.select(T).where(T.c.entry_no == entry_no)).first()
        return to_interaction(row) if row else None

    def exists(self, entry_no: int) -> bool:
        return self.uow.execute(sa.select(T.c.entry_no).where(T.c.entry_no == entry_no)).first() is not None

    def many(self, entry_nos: list[int]) -> dict[int, Interaction]:
        found: dict[int, Interaction] = {}
        for start in range(0, len(entry_nos), CHUNK):
            rows = self.uow.execute(sa.select(T).where(T.c.entry_no.in_(entry_nos[start:start + CHUNK])))
            found.update((r.entry_no, to_interaction(r)) for r in rows)
        return found

    def numbers_where(self, flt: LogFilter) -> list[int]:
        """The numbers of the entries a filter selects, in order."""
        return list(self.uow.execute(sa.select(T.c.entry_no).where(*entry_clauses(flt)).order_by(T.c.entry_no))
                    .scalars())

    def states(self, entry_nos: list[int]) -> dict[int, Any]:
        """What the rules for changing entries read (:data:`STATE_COLUMNS`), by number."""
        found: dict[int, Any] = {}
        for start in range(0, len(entry_nos), CHUNK):
            rows = self.uow.execute(sa.select(*STATE_COLUMNS).where(T.c.entry_no.in_(entry_nos[start:start + CHUNK])))
            found.update((row.entry_no, row) for row in rows)
        return found

    def states_where(self, flt: LogFilter) -> Iterator[Any]:
        """:data:`STATE_COLUMNS` of the entries a filter selects (its order and limit)."""
        yield from self.uow.execute(self.select(flt, STATE_COLUMNS))

    def cancelled_logged_segments(self) -> set[str]:
        return set(self.uow.execute(sa.select(LS.c.no).where(LS.c.cancelled.is_(True))).scalars())

    # -- writing -------------------------------------------------------------------------

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        self.uow.bulk_insert(T, rows)

    def update(self, entry_nos: list[int], values: dict[str, Any]) -> None:
        """The same change on many entries: one UPDATE per chunk of numbers."""
        for start in range(0, len(entry_nos), CHUNK):
            self.uow.execute(sa.update(T).where(T.c.entry_no.in_(entry_nos[start:start + CHUNK])).values(**values))

    def update_where(self, flt: LogFilter, values: dict[str, Any]) -> list[int]:
        """One set-based UPDATE of every entry a filter selects; returns their numbers, in order."""
        stmt = sa.update(T).where(*entry_clauses(flt)).values(**values).returning(T.c.entry_no)
        return sorted(self.uow.execute(stmt).scalars())

    def resume(self, entry_no: int, values: dict[str, Any]) -> bool:
        """Write a resumed entry, if it is still postponed and not cancelled."""
        changed = self.uow.execute(sa.update(T).where(
            T.c.entry_no == entry_no, T.c.postponed.is_(True), T.c.cancelled.is_(False)).values(**values)).rowcount
        return bool(changed)

    def purge_candidates(self, flt: LogFilter, before: datetime) -> list[int]:
        """The numbers of the cancelled entries a purge with this filter and cut-off deletes, in order."""
        clauses = [*entry_clauses(flt), T.c.occurred_at < before, T.c.cancelled.is_(True)]
        return list(self.uow.execute(sa.select(T.c.entry_no).where(*clauses).order_by(T.c.entry_no)).scalars())

    def purge_batch(self, entry_nos: list[int], flt: LogFilter, before: datetime, *,
                    snapshots: bool) -> list[Interaction | int]:
        """Delete those of ``entry_nos`` that are still cancelled, dated before ``before`` and
        selected by ``flt``, with their comment lines and the files only they used. Returns
        what was deleted: the entries as they were (``snapshots``), else their numbers."""
        # "IS NOT false" (the column is NOT NULL) rather than "IS true": no index serves it, so
        # the numbers are looked up by key, not the (cancelled, occurred_at) index scanned
        clauses = [T.c.entry_no.in_(entry_nos), *entry_clauses(flt.but(cancelled="include")),
                   T.c.cancelled.is_not(False), T.c.occurred_at < before]
        returned = list(T.c) if snapshots else (T.c.entry_no, T.c.attachment_id)
        rows = self.uow.execute(sa.delete(T).where(*clauses).returning(*returned)).all()
        if not rows:
            return []
        numbers = [row.entry_no for row in rows]
        for start in range(0, len(numbers), CHUNK):  # the foreign key cascades too: this is in case it does not
            self.uow.execute(sa.delete(M).where(M.c.entry_no.in_(numbers[start:start + CHUNK])))
        self.uow.attachments.delete_unreferenced({row.attachment_id for row in rows
                                                  if row.attachment_id is not None})
        return [to_interaction(row) for row in rows] if snapshots else list(numbers)

    def retention_batch(self, cutoffs: list[tuple[str, str | None, datetime]], size: int, *,
                        snapshots: bool) -> list[Interaction | int]:
        """Delete up to ``size`` entries, in any state, older than their retention rule allows
        (``ilog retention apply``; see :func:`retention_cutoff`) oldest first; see :meth:`delete_batch`."""
        return self.delete_batch(retention_clauses(cutoffs), size, snapshots=snapshots)

    def retention_counts(self, cutoffs: list[tuple[str, str | None, datetime]]) -> dict[int, int]:
        """How many entries each rule (by its index in ``cutoffs``) would delete now."""
        if not cutoffs:
            return {}
        rule = sa.case(*[(condition, sa.literal(index)) for index, condition in _rule_conditions(cutoffs)],
                       else_=sa.null())
        rows = sa.select(rule.label("rule"), T.c.occurred_at.label("occurred_at"),
                         retention_cutoff(cutoffs).label("cutoff")).where(
            T.c.occurred_at < max(c for _, _, c in cutoffs)).subquery()
        counted = sa.select(rows.c.rule, sa.func.count()).where(rows.c.occurred_at < rows.c.cutoff).group_by(rows.c.rule)
        return {int(index): int(n) for index, n in self.uow.execute(counted) if index is not None}

    def delete_batch(self, clauses: list[Any], size: int, *, snapshots: bool) -> list[Interaction | int]:
        """Delete up to ``size`` of the entries ``clauses`` select, oldest first, with their
        comment lines and the files only they used (retention). Returns the deleted entries:
        snapshots taken before the delete when ``snapshots``, else their numbers. Idempotency
        keys and document occurrences stay: a reprint of a deleted document records nothing new."""
        batch = sa.select(T.c.entry_no).where(*clauses).order_by(T.c.occurred_at).limit(size)
        if snapshots:
            before = {e.entry_no: e for e in (to_interaction(r) for r in
                                               self.uow.execute(sa.select(T).where(T.c.entry_no.in_(batch))))}
            numbers = list(before)
        else:
            numbers = list(self.uow.execute(batch).scalars())
        if not numbers:
            return []
        attachment_ids = set(self.uow.execute(sa.select(T.c.attachment_id).where(
            T.c.entry_no.in_(numbers), T.c.attachment_id.is_not(None))).scalars())
        deleted = set(self.uow.execute(sa.delete(T).where(T.c.entry_no.in_(numbers))
                                       .returning(T.c.entry_no)).scalars())
        # ON DELETE CASCADE removed them already; this keeps that true without the constraint
        self.uow.execute(sa.delete(M).where(M.c.entry_no.in_(sorted(deleted))))
        self.uow.attachments.delete_unreferenced(attachment_ids)
        if snapshots:
            return [before[n] for n in numbers if n in deleted]
        return [n for n in numbers if n in deleted]

    def attachment_id(self, entry_no: int) -> tuple[bool, int | None]:
        """(whether the entry exists, its attachment id)."""
        row = self.uow.execute(sa.select(T.c.attachment_id).where(T.c.entry_no == entry_no)).first()
        return (row is not None, row[0] if row else None)


class KeyStore:
    """Idempotency keys: kept apart from the entries, so a purge never lets a replay record again."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def entries_for(self, keys: list[str]) -> dict[str, tuple[int, str | None]]:
        """key -> (the entry it recorded, the fingerprint of that recording; None for keys older
        than schema 3) for those of ``keys`` that are taken."""
        found: dict[str, tuple[int, str | None]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), CHUNK):
            rows = self.uow.execute(sa.select(K.c.key, K.c.entry_no, K.c.fingerprint)
                                    .where(K.c.key.in_(unique[start:start + CHUNK])))
            found.update((key, (entry_no, fingerprint)) for key, entry_no, fingerprint in rows)
        return found

    def entry_for(self, key: str) -> int | None:
        return self.uow.execute(sa.select(K.c.entry_no).where(K.c.key == key)).scalar()

    def claim(self, owners: dict[str, tuple[int, str]], at: datetime) -> set[str]:
        """Insert the keys that are still free, each with (entry number, fingerprint); returns
        those this transaction claimed."""
        if not owners:
            return set()
        stmt = self.uow.upsert(K).on_conflict_do_nothing(index_elements=["key"]).returning(K.c.key)
        rows = [{"key": key, "entry_no": entry_no, "created_at": at, "fingerprint": fingerprint}
                for key, (entry_no, fingerprint) in owners.items()]
        return set(self.uow.execute(stmt, rows).scalars())


class OccurrenceStore:
    """How many times each document has been logged (the 2nd print of an invoice is occurrence 2)."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def take(self, documents: list[tuple[str | None, str]]) -> list[int]:
        """The next occurrence of each document, in order (a document twice here counts twice)."""
        if not documents:
            return []
        counts: dict[tuple[str, str], int] = {}
        for document_type, document_no in documents:
            doc = (document_type or "", document_no)
            counts[doc] = counts.get(doc, 0) + 1
        stmt = self.uow.upsert(D)
        stmt = stmt.on_conflict_do_update(
            index_elements=["document_type", "document_no"],
            set_={"last_occurrence": D.c.last_occurrence + stmt.excluded.last_occurrence},
        ).returning(D.c.document_type, D.c.document_no, D.c.last_occurrence)
        last = {(t, n): int(v) for t, n, v in self.uow.execute(stmt, [
            {"document_type": t, "document_no": n, "last_occurrence": c} for (t, n), c in counts.items()])}
        taken = {doc: last[doc] - count for doc, count in counts.items()}  # the last one before these
        result = []
        for document_type, document_no in documents:
            doc = (document_type or "", document_no)
            taken[doc] += 1
            result.append(taken[doc])
        return result

    def raise_to(self, rows: list[dict[str, Any]]) -> None:
        """Make sure each document's count is at least the given ``last_occurrence`` (log import)."""
        if not rows:
            return
        stmt = self.uow.upsert(D)
        greatest = sa.func.max if self.uow.dialect == "sqlite" else sa.func.greatest
        self.uow.execute(stmt.on_conflict_do_update(
            index_elements=["document_type", "document_no"],
            set_={"last_occurrence": greatest(D.c.last_occurrence, stmt.excluded.last_occurrence)}), rows)


class CommentStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def add(self, entry_no: int, text: str, user_id: str | None, at: datetime) -> int:
        last = self.uow.execute(sa.select(sa.func.max(M.c.line_no)).where(M.c.entry_no == entry_no)).scalar()
        line_no = (last or 0) + 1
        self.uow.execute(M.insert().values(entry_no=entry_no, line_no=line_no, created_at=at, user_id=user_id,
                                           text=text))
        return line_no

    def of(self, entry_no: int) -> list[dict[str, Any]]:
        rows = self.uow.execute(sa.select(M).where(M.c.entry_no == entry_no).order_by(M.c.line_no)).mappings()
        return [dict(r) for r in rows]

    def of_many(self, entry_nos: list[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(entry_nos), CHUNK):
            rows = self.uow.execute(sa.select(M).where(M.c.entry_no.in_(entry_nos[start:start + CHUNK]))
                                    .order_by(M.c.entry_no, M.c.line_no)).mappings()
            for row in rows:
                found.setdefault(row["entry_no"], []).append(dict(row))
        return found
