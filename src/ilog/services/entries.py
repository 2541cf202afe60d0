"""Interaction log entries: the one save pipeline, reading, changing logged entries, the purge.

Every way of recording (``interact``, ``event``, ``segment log``, the Python API) goes
through the same pipeline::

    draft -> enrich_interaction -> checks + validate_interaction -> insert, commit -> interaction_saved

Drafts are built and validated before the write transaction begins; the write unit only
takes numbers and inserts (:meth:`Entries.insert`, which a segment calls inside its own
unit so that its entries and the logged segment commit together). Hooks after a commit
receive read-only snapshots, and their failures are warnings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain import dates, rules, values
from ..domain.choices import MAX_TEXT, MAX_USER
from ..domain.records import (
    PREVIEW_ENTRIES,
    STORED_FIELDS,
    ChangeResult,
    Interaction,
    LogFilter,
    RecordResult,
)
from ..errors import BadValue, Interrupted, NotFound, Refused, ValidationFailed
from .attachments import read_file

if TYPE_CHECKING:
    from ..store.database import Database
    from ..store.unit import UnitOfWork
    from .context import ServiceContext

#: how long one bulk-delete transaction should hold the write lock (seconds; ten times as
#: long where writers do not block each other, PostgreSQL)
PURGE_HOLD_S = 0.03
#: how long a bulk delete leaves SQLite's write lock free between two transactions: more than
#: the 15 ms a writer waiting in SQLite's busy handler sleeps between tries at that point
PURGE_GAP_S = 0.016
#: entries per UPDATE of a bulk change while progress is shown
UPDATE_CHUNK = 5000

_FIELDS = frozenset(Interaction.model_fields)


def in_batches(db: "Database", step: Callable[["UnitOfWork", int], int], batch_size: int = 5000, *,
               committed: Callable[[], None] | None = None) -> int:
    """Run ``step(uow, size)``, each time in a write unit of its own, until it handles fewer than
    ``size`` rows; returns the rows handled. ``committed()`` is told after each commit (hooks,
    progress), also when an interrupt comes right after one.

    Each unit is one short write transaction (the purge, retention, an erasure): sizes start at
    200 and adapt so that each holds the write lock about :data:`PURGE_HOLD_S` (ten times that
    where writers do not block each other), never more than ``batch_size`` rows. Where a write
    transaction blocks every other writer (SQLite, ``db.single_writer``) the lock is then left
    free for :data:`PURGE_GAP_S`, long enough for a print hook waiting in SQLite's busy
    handler to get in: it waits tens of milliseconds at worst, on a fast disk or a slow one.
    An interrupted run leaves whole steps done.

    The units are bulk ones (``db.unit(write=True, bulk=True)``): on SQLite their commit does
    not copy the write-ahead log back into the file; :meth:`Database.write_back` does, at once
    after each commit, in the gap. So the log holds next to nothing when a print commits, and
    the print never has to copy the series' pages itself (40-200 ms: it would find the log past
    SQLite's 1,000 pages the moment the lock is free, unless the copy has begun); and the hold
    that sizes the batches is the transaction's own work, not the copy too (which would make
    them half as big, and the series slower, for a lock nobody waits on). ``write_back`` runs
    again at the end of the gap, for what prints committed in it: the next unit then finds the
    log copied to its end and starts it again from its beginning.
    """
    hold = PURGE_HOLD_S if db.single_writer else PURGE_HOLD_S * 10
    total = 0
    size = min(batch_size, 200)
    while True:
        started = time.perf_counter()
        with db.unit(write=True, bulk=True) as uow:
            done = step(uow, size)
        committed_at = time.perf_counter()
        try:
            db.write_back()
        finally:
            if committed is not None:
                committed()
        total += done
        if done < size:
            return total
        size = min(batch_size, max(20, int(size * min(2.0, hold / max(committed_at - started, 1e-4)))))
        if db.single_writer:
            time.sleep(max(0.0, PURGE_GAP_S - (time.perf_counter() - committed_at)))
            db.write_back()


class Entries:
    """Recording, reading and changing interaction log entries."""

    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx

    # -- building drafts -------------------------------------------------------------------

    def draft(self, contact_no: str | None, template_code: str | None = None, *,
              uow: "UnitOfWork | None" = None, **given: Any) -> Interaction:
        """An unsaved interaction for a contact, with the template's values copied onto it.

        ``given`` values override the template's (None means "not given"); they are
        validated like every field. The contact's company at this moment is stored on the
        entry, so history stays with the company it happened with.
        """
        unknown = sorted(set(given) - _FIELDS)
        if unknown:
            raise BadValue(f"unknown interaction field {unknown[0]!r}")
        data: dict[str, Any] = {"user_id": self.ctx.user}
        with self.ctx.reading(uow) as u:
            if template_code:
                code = values.code(template_code, "template code")
                template = u.templates.get(code)
                if template is None:
                    raise NotFound(f"unknown template {code!r}")
                data.update(rules.from_template(template))
            if contact_no:
                no = values.code(contact_no, "contact number")
                contact = u.contacts.get(no)
                if contact is None:
                    raise NotFound(f"unknown contact {no!r}")
                data["contact_no"] = contact.no
                data["company_no"] = rules.company_of(contact.type, contact.no, contact.company_no)
        data.update((name, value) for name, value in given.items() if value is not None)
        draft = values.validated(Interaction, data)
        if draft.occurred_at is None:
            draft.occurred_at = dates.now()
        if draft.due_at is not None and draft.state == "done" and draft.completed_at is None:
            draft.state = "open"
        draft.mark_checked()
        return draft

    def check(self, draft: Interaction) -> None:
        """The core's own rules for a draft: every field's value type, and a contact unless a
        task or note. Values are normalised in place (``anna`` becomes ``ANNA``); a draft
        nothing assigned to since :meth:`draft` made it (``draft.checked``) is not validated
        again (about 8% of a batch of 10,000 events)."""
        if not draft.checked:
            clean = values.validated(Interaction, {name: getattr(draft, name) for name in STORED_FIELDS})
            object.__getattribute__(draft, "__dict__").update(
                (name, getattr(clean, name)) for name in STORED_FIELDS)
            draft.mark_checked()
        if draft.occurred_at is None:
            raise BadValue("the interaction date is required")
        rules.check_contact(draft.contact_no, draft.kind)

    # -- the pipeline ------------------------------------------------------------------------

    def prepare(self, draft: Interaction, *, uow: "UnitOfWork | None" = None) -> Interaction:
        """Everything that happens before the insert: enrich, check, validate."""
        plugins = self.ctx.plugins
        view = self.ctx.hooks_view(uow)
        plugins.call("enrich_interaction", interaction=draft, logbook=view)
        self.check(draft)
        messages: list[str] = []
        for name, result in plugins.call("validate_interaction", interaction=draft, logbook=view):
            items = [result] if isinstance(result, str) else list(result)
            messages.extend(f"plugin {name}: {m}" for m in items if m)
        if messages:
            raise ValidationFailed(messages)
        return draft

    def save(self, draft: Interaction, *, attach: str | Path | None = None) -> RecordResult:
        """Record one interaction through the whole pipeline; returns its entry number."""
        self.prepare(draft)
        return self.save_prepared([draft], attach=attach)[0]

    def save_prepared(self, drafts: list[Interaction], *, attach: str | Path | None = None) -> list[RecordResult]:
        """Insert prepared drafts in one transaction (all or nothing), then notify."""
        content = read_file(Path(attach), self.ctx.attachment_max_bytes) if attach else None
        with self.ctx.db.unit(write=True) as uow:
            if content is not None:
                attachment_id = uow.attachments.store(*content, dates.now())
                for draft in drafts:
                    draft.attachment_id = attachment_id
            results = self.insert(uow, drafts)
        self.notify_saved(results)
        return results

    def insert(self, uow: "UnitOfWork", drafts: list[Interaction]) -> list[RecordResult]:
        """Number and insert prepared drafts in the caller's write unit; a draft whose
        idempotency key is taken gives the entry the key already recorded.

        Set-wise, so a chunk of 500 events costs a handful of statements, not 1,500: keys
        looked up at once, claimed at once, occurrences counted once per document.
        """
        results: list[RecordResult | None] = [None] * len(drafts)
        existing = uow.keys.entries_for([d.idempotency_key for d in drafts if d.idempotency_key])
        new: list[int] = []
        for index, draft in enumerate(drafts):
            key = draft.idempotency_key
            if key in existing:
                results[index] = self.replay(key, existing[key], rules.of_entry(draft))
            else:
                new.append(index)
        if new:
            first = uow.numbers.take("entry", len(new))
            created_at = dates.now()
            owner: dict[str, tuple[int, str]] = {}  # key -> (entry number, fingerprint) of its first draft here
            for offset, index in enumerate(new):
                key = drafts[index].idempotency_key
                if key and key not in owner:
                    owner[key] = (first + offset, rules.of_entry(drafts[index]))
            claimed = uow.keys.claim(owner, created_at)
            taken = {}
            if len(claimed) < len(owner):  # another writer got there first: what did it record?
                taken = uow.keys.entries_for([k for k in owner if k not in claimed])
            saved: list[tuple[int, int]] = []
            for offset, index in enumerate(new):
                draft, entry_no = drafts[index], first + offset
                key = draft.idempotency_key
                if key and (key not in claimed or owner[key][0] != entry_no):
                    # another writer, or an earlier draft of this batch, holds the key
                    holder = owner[key] if key in claimed else taken[key]
                    results[index] = self.replay(key, holder, rules.of_entry(draft))
                    continue
                saved.append((index, entry_no))
            occurrences = uow.occurrences.take(
                [(drafts[i].document_type, drafts[i].document_no) for i, _ in saved if drafts[i].document_no])
            rows = []
            for index, entry_no in saved:
                draft = drafts[index]
                state = object.__getattribute__(draft, "__dict__")
                state["entry_no"] = entry_no
                state["created_at"] = created_at
                if state["owner"] is None:  # an activity is for whoever logged it, unless planned for someone
                    state["owner"] = state["user_id"]
                if draft.document_no:
                    state["occurrence"] = occurrences.pop(0)
                rows.append({name: state[name] for name in STORED_FIELDS})
                results[index] = RecordResult(entry_no=entry_no, created=True, interaction=draft)
            uow.entries.insert_many(rows)
        return results  # type: ignore[return-value]

    @staticmethod
    def replay(key: str, recorded: tuple[int, str | None], fingerprint: str) -> RecordResult:
        """The key's earlier entry, if this is the same recording; a refusal if the key was used
        for another one (keys older than schema 3 have no fingerprint: taken on trust)."""
        entry_no, known = recorded
        if known is not None and known != fingerprint:
            raise rules.key_reused(key, entry_no)
        return RecordResult(entry_no=entry_no, created=False)

    def notify_saved(self, results: list[RecordResult]) -> None:
        """After the commit: snapshots for the results, and ``interaction_saved`` for each."""
        plugins = self.ctx.plugins
        if not plugins.has("interaction_saved"):
            for result in results:
                if result.interaction is not None:
                    result.interaction = result.interaction.frozen()
            return
        view = self.ctx.hooks_view()
        for result in results:
            snapshot = result.interaction.frozen() if result.interaction else self.find_one(result.entry_no)
            result.interaction = snapshot
            if snapshot is not None:
                plugins.notify("interaction_saved", self.ctx.warn, interaction=snapshot, created=result.created,
                               logbook=view)

    # -- recording by hand -------------------------------------------------------------------

    def interact(self, contact_no: str | None, template_code: str | None, *, attach: str | Path | None = None,
                 open_activity: bool = False, **given: Any) -> RecordResult:
        """Log one interaction by hand (``ilog interact``).

        ``open_activity`` records a task or meeting as open without a due date (any kind
        becomes open with ``due_at``); ``postponed=True`` saves it to finish later.
        """
        if template_code is None and given.get("kind") is None:
            raise BadValue("give a template (--template CODE, template_code) or, for an entry without one, a kind (--kind, kind)")
        draft = self.draft(contact_no, template_code, source="manual", **given)
        if open_activity:
            rules.check_open_without_due(draft.kind, draft.due_at)
            draft.state = "open"
        return self.save(draft, attach=attach)

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def filter_of(flt: LogFilter | dict[str, Any] | None) -> LogFilter:
        """A filter as the API takes it: a LogFilter, or its fields as a dict, or nothing (all)."""
        if flt is None:
            return LogFilter()
        if isinstance(flt, LogFilter):
            return flt
        if isinstance(flt, dict):
            return values.validated(LogFilter, flt)
        raise BadValue(f"a filter is an ilog.LogFilter or a dict of its fields, not {type(flt).__name__}")

    @staticmethod
    def check_names(uow: "UnitOfWork", flt: LogFilter, *, matched: bool = False) -> None:
        """A filter naming a contact, company, template, group or segment that does not exist (or
        a person as a company) is refused: "no entries" would hide a typo.

        ``matched``: the filter selected entries, so the contact it names exists (the entries'
        foreign key says so) and is not looked up: a contact's history is one query, not two.
        """
        for no, what in ((flt.contact_no, "contact"), (flt.company_no, "company")):
            if no is None or (matched and what == "contact"):
                continue
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown {what} {no!r}")
            if what == "company" and contact.type != "company":
                raise Refused(f"contact {no} ({contact.name}) is a person, not a company")
        for code in flt.template_code or ():
            if uow.templates.get(code) is None:
                raise NotFound(f"unknown template {code!r}")
        if flt.team is not None and uow.teams.get(flt.team) is None:
            raise NotFound(f"unknown team {flt.team!r}")
        if flt.group_code is not None and uow.groups.get(flt.group_code) is None:
            raise NotFound(f"unknown interaction group {flt.group_code!r}")
        if flt.segment_no is not None and not uow.segments.exists(flt.segment_no):
            raise NotFound(f"unknown segment {flt.segment_no!r}")
        if flt.logged_segment_no is not None and uow.segments.get_logged(flt.logged_segment_no) is None:
            raise NotFound(f"unknown logged segment {flt.logged_segment_no!r}")

    def find(self, flt: LogFilter | dict[str, Any] | None = None, *, uow: "UnitOfWork | None" = None
             ) -> list[Interaction]:
        """The entries a filter selects, newest first (unless ``newest_first`` is False)."""
        flt = self.filter_of(flt)
        with self.ctx.reading(uow) as u:
            found = u.entries.find(flt)
            self.check_names(u, flt, matched=bool(found))
            return found

    def iter_find(self, flt: LogFilter | dict[str, Any], batch: int = 1000) -> Iterator[Interaction]:
        """Like :meth:`find`, streaming (exports of millions of entries)."""
        flt = self.filter_of(flt)
        with self.ctx.db.unit(stream=True) as uow:
            self.check_names(uow, flt)
            yield from uow.entries.iter_find(flt, batch)

    def count(self, flt: LogFilter | dict[str, Any] | None = None, *, uow: "UnitOfWork | None" = None) -> int:
        flt = self.filter_of(flt)
        with self.ctx.reading(uow) as u:
            self.check_names(u, flt)
            return u.entries.count(flt)

    def get(self, entry_no: Any, *, uow: "UnitOfWork | None" = None) -> Interaction:
        """One entry, cancelled or postponed alike; NotFound if it does not exist."""
        found = self.find_one(values.entry_no(entry_no), uow=uow)
        if found is None:
            raise NotFound(f"interaction log entry {entry_no} does not exist")
        return found

    def find_one(self, entry_no: int | None, *, uow: "UnitOfWork | None" = None) -> Interaction | None:
        if entry_no is None:
            return None
        with self.ctx.reading(uow) as u:
            entry = u.entries.get(entry_no)
        return entry.frozen() if entry else None

    def entry_for_key(self, key: str, *, uow: "UnitOfWork | None" = None) -> int | None:
        """The entry an idempotency key recorded (even if since purged), or None."""
        with self.ctx.reading(uow) as u:
            return u.keys.entry_for(key)

    def comments(self, entry_no: Any) -> list[dict[str, Any]]:
        with self.ctx.db.unit() as uow:
            return uow.comments.of(values.entry_no(entry_no))

    # -- changing logged entries -----------------------------------------------------------------

    def _targets(self, uow: "UnitOfWork", entry_nos: list[int] | None, flt: LogFilter | None) -> list[Any]:
        """What the rules need of the entries to change (:data:`~ilog.store.entries.STATE_COLUMNS`), by number (all must exist) or by a filter (which must narrow something)."""
        if entry_nos is not None:
            numbers = list(dict.fromkeys(values.entry_no(n) for n in entry_nos))
            found = uow.entries.states(numbers)
            missing = [n for n in numbers if n not in found]
            if missing:
                raise NotFound(f"interaction log entry {missing[0]} does not exist")
            return [found[n] for n in numbers]
        if flt is None or flt.is_empty():
            raise BadValue("give entry numbers or at least one filter")
        self.check_names(uow, flt)
        return list(uow.entries.states_where(flt))

    def change(self, entry_nos: list[int] | None, flt: LogFilter | None, *,
               refuse: Callable[[Any], str | None] | None, changes: dict[str, Any], hook: str | None = None,
               dry_run: bool = False, uow: "UnitOfWork | None" = None,
               progress: Callable[[int, int | None], None] | None = None) -> ChangeResult:
        """The one bulk-change mechanism: cancel, restore, complete, evaluate, assign, a logged segment.

        With explicit entry numbers, any refused entry fails the whole command and nothing
        changes. With a filter, entries the rule refuses are skipped and reported; when the rule
        refuses none (or there is no rule, ``refuse=None``) the change is one set-based UPDATE
        of what the filter selects. Only the columns the rules read are loaded, never whole
        entries; hooks get snapshots read after the commit, and only when a plugin implements
        ``hook``. Given the caller's ``uow`` the change joins its transaction (the caller then
        calls :meth:`notify_changed` once it committed). ``progress(done, total)`` is told as
        the entries are written. A dry run keeps the first entries it would change in ``preview``.
        """
        if entry_nos is None and (flt is None or flt.is_empty()):
            raise BadValue("give entry numbers or at least one filter")
        flt = flt.but(newest_first=False) if flt is not None else None
        set_based = entry_nos is None and not flt.limit  # type: ignore[union-attr]
        result = ChangeResult()
        with self.ctx.writing(uow) as u:
            if refuse is None and set_based and dry_run:
                result.changed = u.entries.numbers_where(flt)
            elif refuse is None and set_based:
                result.changed = u.entries.update_where(flt, changes)
            else:
                for entry in self._targets(u, entry_nos, flt):
                    reason = refuse(entry) if refuse is not None else None
                    if reason:
                        result.refused.append((entry.entry_no, reason))
                    else:
                        result.changed.append(entry.entry_no)
                if entry_nos is not None and result.refused:
                    no, reason = result.refused[0]
                    more = f" (and {len(result.refused) - 1} more)" if len(result.refused) > 1 else ""
                    raise Refused(f"entry {no} {reason}{more}; nothing changed")
                if not dry_run and set_based and not result.refused and progress is None:
                    # the filter selects exactly what the rule lets change: one statement, and
                    # what it changed is what the result says
                    result.changed = u.entries.update_where(flt, changes)
                elif not dry_run:
                    total = len(result.changed)
                    for start in range(0, total, UPDATE_CHUNK):
                        u.entries.update(result.changed[start:start + UPDATE_CHUNK], changes)
                        if progress is not None:
                            progress(min(start + UPDATE_CHUNK, total), total)
            if dry_run:
                found = u.entries.many(result.changed[:PREVIEW_ENTRIES])
                result.preview = [found[n].frozen() for n in result.changed[:PREVIEW_ENTRIES] if n in found]
                return result
        if progress is not None and result.changed:
            progress(len(result.changed), len(result.changed))
        if uow is None and hook:
            self.notify_changed(hook, result.changed)
        return result
        return result

    def notify_changed(self, hook: str, entry_nos: list[int]) -> None:
        """After the commit: ``hook`` for each changed entry, with its snapshot as stored now
        (read only when a plugin implements the hook)."""
        if entry_nos and self.ctx.plugins.has(hook):
            view = self.ctx.hooks_view()
            for entry in self.snapshots(entry_nos):
                self.ctx.plugins.notify(hook, self.ctx.warn, interaction=entry, logbook=view)

    def snapshots(self, entry_nos: list[int]) -> Iterator[Interaction]:
        """Read-only snapshots of these entries, in their order, a chunk at a time."""
        for start in range(0, len(entry_nos), 500):
            chunk = entry_nos[start:start + 500]
            with self.ctx.db.unit() as uow:
                found = uow.entries.many(chunk)
            yield from (found[n].frozen() for n in chunk if n in found)

    def cancel(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *,
               dry_run: bool = False) -> ChangeResult:
        """Mark entries cancelled (they stay in the log until purged)."""
        return self.change(entry_nos, flt, dry_run=dry_run, hook="interaction_cancelled", refuse=rules.cannot_cancel,
                           changes={"cancelled": True, "cancelled_at": dates.now()})

    def restore(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *,
                dry_run: bool = False) -> ChangeResult:
        """Undo the cancellation of entries (not of single entries of a cancelled logged segment)."""
        with self.ctx.db.unit() as uow:
            cancelled_segments = uow.entries.cancelled_logged_segments()
        return self.change(entry_nos, flt if flt is None else flt.but(cancelled="only"), dry_run=dry_run,
                           hook="interaction_restored",
                           refuse=lambda entry: rules.cannot_restore(entry, cancelled_segments),
                           changes={"cancelled": False, "cancelled_at": None})

    def evaluate(self, entry_nos: list[int] | None, evaluation: str, flt: LogFilter | None = None, *,
                 dry_run: bool = False) -> ChangeResult:
        """Set the evaluation of entries (very-positive ... very-negative, none)."""
        from ..domain.choices import EVALUATIONS

        value = values.choice(evaluation, "evaluation", EVALUATIONS)
        return self.change(entry_nos, flt, dry_run=dry_run, refuse=rules.cannot_evaluate,
                           changes={"evaluation": value})

    def complete(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *,
                 dry_run: bool = False, at: datetime | None = None) -> ChangeResult:
        """Mark open activities done, with when and by whom."""
        return self.change(entry_nos, flt if flt is None else flt.but(state="open"), dry_run=dry_run,
                           refuse=rules.cannot_complete,
                           changes={"state": "done", "completed_at": at or dates.now(), "completed_by": self.ctx.user})

    def assign(self, entry_nos: list[int] | None, to: str, flt: LogFilter | None = None, *,
               dry_run: bool = False) -> ChangeResult:
        """Hand open or postponed activities over to another user (``ilog assign``); a done entry
        stays with who did it, a cancelled one is refused."""
        owner = values.required_text(to, "owner", MAX_USER)
        return self.change(entry_nos, flt, dry_run=dry_run, refuse=rules.cannot_assign, changes={"owner": owner})

    def comment(self, entry_no: Any, text: str) -> int:
        """Add a dated comment line to an entry; returns its line number."""
        number = values.entry_no(entry_no)
        text = values.required_text(text, "comment", MAX_TEXT)
        with self.ctx.db.unit(write=True) as uow:
            if not uow.entries.exists(number):
                raise NotFound(f"interaction log entry {number} does not exist")
            return uow.comments.add(number, text, self.ctx.user, dates.now())

    # -- purge -------------------------------------------------------------------------------------

    def _purge_filter(self, flt: LogFilter | None) -> LogFilter:
        return self.filter_of(flt).but(cancelled="only", postponed="include", date_to=None, limit=None,
                                       newest_first=False)

    def purge_preview(self, before: datetime, flt: LogFilter | None = None, *,
                      limit: int = PREVIEW_ENTRIES) -> list[Interaction]:
        """The first (oldest) entries :meth:`purge_cancelled` would delete."""
        with self.ctx.db.unit() as uow:
            return uow.entries.purgeable_first(self._purge_filter(flt), before, limit)

    def purge_cancelled(self, before: datetime, flt: LogFilter | None = None, *, dry_run: bool = False,
                        batch_size: int = 5000, progress: Callable[[int, int | None], None] | None = None) -> int:
        """Delete cancelled entries dated before ``before``; never any other entry.

        The entries due are listed first, by number (a read: no lock), then deleted in batches
        of consecutive numbers (:meth:`delete_in_batches`), each its own short transaction whose
        DELETE checks every condition again (an entry restored meanwhile stays) and returns what
        it deleted, with its comment lines and the files only it used; so print hooks writing
        at the same time wait tens of milliseconds, not seconds. An interrupted purge is simply
        run again. Idempotency keys stay (a reprint of a purged document records nothing new).
        ``progress(done, total)`` is told after each batch.
        """
        flt = self._purge_filter(flt)
        with self.ctx.db.unit() as uow:
            self.check_names(uow, flt)
            if dry_run:
                return uow.entries.purgeable(flt, before)
            due = uow.entries.purge_candidates(flt, before)
        if progress is not None:
            progress(0, len(due))
        taken = [0]

        def batch(uow: "UnitOfWork", size: int, snapshots: bool) -> tuple[int, list[Any]]:
            numbers = due[taken[0]:taken[0] + size]
            taken[0] += len(numbers)
            return len(numbers), uow.entries.purge_batch(numbers, flt, before, snapshots=snapshots)

        return self.delete_in_batches(batch, batch_size, what="cancelled entries purged", progress=progress,
                                      due=len(due))

    def delete_in_batches(self, batch: Callable[["UnitOfWork", int, bool], tuple[int, list[Any]]],
                          batch_size: int = 5000, *, what: str = "entries deleted",
                          progress: Callable[[int, int | None], None] | None = None, due: int = 0) -> int:
        """The one bulk delete of entries (``purge-cancelled``, ``retention apply``), through
        :func:`in_batches`: ``batch(uow, size, snapshots)`` looks at up to ``size`` entries in
        the write unit it is given, deletes those still due and returns (how many it looked at,
        what it deleted: snapshots taken before the delete when ``snapshots``, else their
        numbers); ``interactions_purged`` is told after each batch commits, and ``progress(done,
        due)`` too. Returns how many were deleted. A Ctrl-C says how many committed batches
        deleted (``what``)."""
        plugins = self.ctx.plugins
        snapshots = plugins.has("interactions_purged")
        done = [0]  # what committed batches deleted, for the message of an interrupt
        deleting: list[Any] = []  # what the batch being committed deletes

        def step(uow: "UnitOfWork", size: int) -> int:
            looked_at, deleted = batch(uow, size, snapshots)
            deleting[:] = deleted
            return looked_at

        def committed() -> None:
            deleted = list(deleting)
            deleting.clear()
            done[0] += len(deleted)
            if progress is not None and deleted:
                progress(done[0], max(due, done[0]))
            if deleted and snapshots:
                plugins.notify("interactions_purged", self.ctx.warn, interactions=[e.frozen() for e in deleted],
                               logbook=self.ctx.hooks_view())

        try:
            in_batches(self.ctx.db, step, batch_size, committed=committed)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted: {done[0]:,} {what}, the rest not; run the same command again to "
                              "finish") from None
        return done[0]

    # -- postponed entries ---------------------------------------------------------------------------

    def resume(self, entry_no: Any, **overrides: Any) -> RecordResult:
        """Log a postponed entry (``ilog resume``): overrides applied, hooks run again.

        The entry keeps its number; ``enrich_interaction`` and ``validate_interaction`` see
        the draft with ``postponed`` False, and ``interaction_saved`` is told after the
        commit (``created`` True: the interaction is logged now). Only postponed entries
        that are not cancelled can be resumed.
        """
        number = values.entry_no(entry_no)
        unknown = sorted(set(overrides) - set(rules.RESUME_FIELDS))
        if unknown:
            raise BadValue(f"resume cannot change {', '.join(unknown)}")
        with self.ctx.db.unit() as uow:
            stored = uow.entries.get(number)
        if stored is None:
            raise NotFound(f"interaction log entry {number} does not exist")
        rules.check_resumable(stored)
        data = {name: getattr(stored, name) for name in STORED_FIELDS}
        data.update((name, value) for name, value in overrides.items() if value is not None)
        if overrides.get("due_at") is not None:
            rules.planned_state(data)
        data["postponed"] = False
        draft = values.validated(Interaction, data)
        self.prepare(draft)
        state = object.__getattribute__(draft, "__dict__")
        state.update(entry_no=number, created_at=stored.created_at, idempotency_key=stored.idempotency_key)
        with self.ctx.db.unit(write=True) as uow:
            if draft.document_no and (draft.document_type, draft.document_no) != (stored.document_type,
                                                                                  stored.document_no):
                state["occurrence"] = uow.occurrences.take([(draft.document_type, draft.document_no)])[0]
            written = {name: state[name] for name in STORED_FIELDS
                       if name not in ("entry_no", "created_at", "idempotency_key")}
            if not uow.entries.resume(number, written):
                raise Refused(f"entry {number} was resumed or cancelled meanwhile; nothing changed")
        result = RecordResult(entry_no=number, created=True, interaction=draft)
        self.notify_saved([result])
        return result

