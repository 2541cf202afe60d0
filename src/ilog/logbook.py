"""The Logbook: the one service that records, finds, changes and purges interactions.

Every way of recording (``interact``, ``event``, ``segment log``, imports, the Python
API) goes through :meth:`Logbook.save`, which runs the same pipeline::

    draft -> enrich_interaction -> checks + validate_interaction -> insert, commit -> interaction_saved

Write transactions are short: drafts are built and validated before the transaction
begins; the transaction only takes numbers and inserts. Hooks after a commit receive
read-only snapshots, and their failures are warnings.

The Logbook never imports Typer; the CLI never builds SQL.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from operator import itemgetter
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models, numbering
from .db import Database
from .errors import BadValue, NotFound, Refused, ValidationFailed
from .plugins import PluginHost
from .records import (
    CORRESPONDENCE,
    EVALUATIONS,
    FLOWS,
    INITIATED_BY,
    INTERACTION_FIELDS,
    KINDS,
    MAX_CODE,
    MAX_SUBJECT,
    MAX_TEXT,
    SOURCES,
    DocumentEvent,
    Interaction,
    LogFilter,
    RecordResult,
    check_amount,
    check_choice,
    check_code,
    check_text,
)

T = models.interaction

#: kinds that may be recorded open (``interact --open``) without a due date
OPEN_KINDS = ("task", "meeting")
#: what ``resume`` may change on a postponed entry
RESUME_FIELDS = ("subject", "occurred_at", "duration_min", "cost", "flow", "initiated_by", "evaluation",
                 "attempt_failed", "salesperson_code", "campaign_no", "due_at", "kind")

#: how long one purge transaction should hold the write lock (seconds)
PURGE_TRANSACTION_S = 0.02

#: columns of the interaction table that are stored from a draft
_STORED = [c.name for c in T.columns]
_stored_values = itemgetter(*_STORED)


@dataclass
class ChangeResult:
    """What a bulk change did: the entries changed, and those refused with a reason."""

    changed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def _stderr_warning(message: str) -> None:
    print(f"ilog: warning: {message}", file=sys.stderr)


class Logbook:
    """The service behind every command and the Python API."""

    def __init__(
        self,
        db: Database | str,
        *,
        user: str | None = None,
        plugins: PluginHost | None = None,
        warn: Callable[[str], None] = _stderr_warning,
        attachment_max_bytes: int | None = None,
    ):
        from .config import DEFAULT_ATTACHMENT_MAX_BYTES, login_name
        from .contacts import ContactBook
        from .segments import SegmentBook
        from .templates import TemplateBook

        self.db = db if isinstance(db, Database) else Database(db)
        self.user = user or login_name()
        if plugins is None:
            from .plugins import make_plugin_host

            plugins = make_plugin_host(entrypoints=False)
        self.plugins = plugins
        self.warn = warn
        self.attachment_max_bytes = attachment_max_bytes or DEFAULT_ATTACHMENT_MAX_BYTES
        self.contacts = ContactBook(self)
        self.templates = TemplateBook(self)
        self.segments = SegmentBook(self)

    @classmethod
    def open(cls, url: str | None = None, *, user: str | None = None, load_plugins: bool = True) -> "Logbook":
        """The configured log (settings, environment), with the installed plugins."""
        from .config import load_settings
        from .plugins import make_plugin_host

        settings = load_settings(database_url=url, user=user)
        dates.set_zone(settings.get("timezone"))  # type: ignore[arg-type]
        host = make_plugin_host(entrypoints=load_plugins,
                                plugins_dir=settings.plugins_dir if load_plugins else None)
        db = Database(settings.database_url, busy_timeout=float(settings.get("busy_timeout")),
                      connect_timeout=float(settings.get("connect_timeout")))
        return cls(db, user=settings.user, plugins=host, attachment_max_bytes=settings.attachment_max_bytes)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> "Logbook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building drafts -------------------------------------------------------------

    def draft(self, contact_no: str | None, template_code: str | None = None, **values: Any) -> Interaction:
        """An unsaved interaction for a contact, with the template's values copied onto it.

        ``values`` override the template's (None means "not given"). The contact's company
        at this moment is stored on the entry, so history stays with the company it
        happened with. A contact is optional only for tasks and notes to yourself.
        """
        with self.db.read() as conn:
            return self._draft(conn, contact_no, template_code, values)

    def _draft(self, conn: Connection, contact_no: str | None, template_code: str | None,
               values: dict[str, Any]) -> Interaction:
        draft = Interaction(contact_no=None, user_id=self.user)
        if template_code:
            template = self.templates._get(conn, check_code(template_code, "template code"))
            draft.template_code = template.code
            draft.group_code = template.group_code
            draft.kind = template.kind
            draft.flow = template.flow
            draft.initiated_by = template.initiated_by
            draft.cost = template.unit_cost
            draft.duration_min = template.unit_duration_min
            draft.attempt_failed = template.attempt_failed
            draft.correspondence = template.correspondence
            draft.campaign_no = template.campaign_no
            draft.attachment_id = template.attachment_id
            draft.subject = template.description
        if contact_no:
            contact = self.contacts._get(conn, check_code(contact_no, "contact number"))
            draft.contact_no = contact.no
            draft.company_no = contact.company_no if contact.type == "person" else contact.no
        for name, value in values.items():
            if value is not None:
                setattr(draft, name, value)
        if draft.occurred_at is None:
            draft.occurred_at = dates.now()
        if draft.due_at is not None and draft.state == "done" and draft.completed_at is None:
            draft.state = "open"
        return draft

    def check(self, draft: Interaction) -> None:
        """The core's own rules for a draft (values, lengths, a contact unless a task/note)."""
        draft.subject = check_text(draft.subject, "subject", MAX_SUBJECT)
        draft.kind = check_choice(draft.kind, KINDS, "kind")
        draft.flow = check_choice(draft.flow, FLOWS, "information flow")
        draft.initiated_by = check_choice(draft.initiated_by, INITIATED_BY, "initiated by")
        draft.evaluation = check_choice(draft.evaluation or "none", EVALUATIONS, "evaluation")
        draft.correspondence = check_choice(draft.correspondence or "none", CORRESPONDENCE, "correspondence type")
        draft.source = check_choice(draft.source, SOURCES, "source")
        draft.state = check_choice(draft.state, ("open", "done"), "state")
        draft.cost = check_amount(draft.cost, "cost") or 0.0
        draft.duration_min = check_amount(draft.duration_min, "duration") or 0.0
        for name, limit in (("document_type", 40), ("document_no", 50), ("salesperson_code", MAX_CODE),
                            ("campaign_no", MAX_CODE), ("idempotency_key", 200), ("user_id", 100)):
            setattr(draft, name, check_text(getattr(draft, name), name.replace("_", " "), limit))
        if draft.contact_no is None and draft.kind not in ("task", "note"):
            raise BadValue("a contact is required (only tasks and notes may have none)")
        if draft.occurred_at is None or draft.occurred_at.tzinfo is None:
            raise BadValue("the interaction date must be a timezone-aware moment")

    # -- the pipeline ----------------------------------------------------------------

    def prepare(self, draft: Interaction) -> Interaction:
        """Run everything that happens before the insert: enrich, check, validate."""
        self.plugins.call("enrich_interaction", interaction=draft, logbook=self)
        self.check(draft)
        messages: list[str] = []
        for name, result in self.plugins.call("validate_interaction", interaction=draft, logbook=self):
            items = [result] if isinstance(result, str) else list(result)
            messages.extend(f"plugin {name}: {m}" for m in items if m)
        if messages:
            raise ValidationFailed(messages)
        return draft

    def save(self, draft: Interaction, *, attach: str | Path | None = None) -> RecordResult:
        """Record one interaction through the whole pipeline; returns its entry number."""
        self.prepare(draft)
        return self.save_prepared([draft], attach=attach)[0]

    def save_prepared(self, drafts: list[Interaction], *, attach: str | Path | None = None,
                      before_commit: Callable[[Connection, list[RecordResult]], None] | None = None
                      ) -> list[RecordResult]:
        """Insert prepared drafts in one transaction (all or nothing), then notify.

        ``before_commit`` runs inside the transaction after the inserts (a segment uses it
        to record the logged segment and close itself).
        """
        content = self._read_attachment(attach) if attach else None
        with self.db.write() as conn:
            if content is not None:
                from .attachments import store

                attachment_id = store(conn, *content)
                for draft in drafts:
                    draft.attachment_id = attachment_id
            results = self._insert(conn, drafts)
            if before_commit is not None:
                before_commit(conn, results)
        self._notify_saved(results)
        return results

    def _read_attachment(self, path: str | Path) -> tuple[str, bytes]:
        from .attachments import read_file

        return read_file(Path(path), self.attachment_max_bytes)

    def _insert(self, conn: Connection, drafts: list[Interaction]) -> list[RecordResult]:
        # set-wise, so a chunk of 500 events costs a handful of statements, not 1,500:
        # keys looked up at once, claimed at once, occurrences counted once per document
        results: list[RecordResult | None] = [None] * len(drafts)
        existing = self._entries_for_keys(conn, [d.idempotency_key for d in drafts if d.idempotency_key])
        new: list[int] = []
        for index, draft in enumerate(drafts):
            if draft.idempotency_key in existing:
                results[index] = RecordResult(existing[draft.idempotency_key], False)
            else:
                new.append(index)
        if new:
            first = numbering.take(conn, "entry", len(new))
            created_at = dates.now()
            owner: dict[str, int] = {}  # key -> the entry number of its first draft here
            for offset, index in enumerate(new):
                key = drafts[index].idempotency_key
                if key and key not in owner:
                    owner[key] = first + offset
            claimed = self._claim_keys(conn, owner, created_at)
            saved: list[tuple[int, int]] = []
            for offset, index in enumerate(new):
                draft, entry_no = drafts[index], first + offset
                key = draft.idempotency_key
                if key and (key not in claimed or owner[key] != entry_no):
                    # another writer, or an earlier draft of this batch, holds the key
                    holder = owner[key] if key in claimed else self._entry_for_key(conn, key)
                    results[index] = RecordResult(holder, False)
                    continue
                saved.append((index, entry_no))
            occurrences = self._next_occurrences(
                conn, [(drafts[i].document_type, drafts[i].document_no) for i, _ in saved if drafts[i].document_no])
            rows = []
            for index, entry_no in saved:
                draft = drafts[index]
                draft.entry_no = entry_no
                draft.created_at = created_at
                if draft.document_no:
                    draft.occurrence = occurrences.pop(0)
                rows.append(dict(zip(_STORED, _stored_values(vars(draft)))))
                results[index] = RecordResult(entry_no, True, draft)
            if rows:
                self.db.bulk_insert(conn, T, rows)
        return results  # type: ignore[return-value]

    def _entries_for_keys(self, conn: Connection, keys: list[str]) -> dict[str, int]:
        k = models.idempotency_key
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            rows = conn.execute(sa.select(k.c.key, k.c.entry_no).where(k.c.key.in_(unique[start:start + 500])))
            found.update((key, entry_no) for key, entry_no in rows)
        return found

    def _claim_keys(self, conn: Connection, owners: dict[str, int], at: datetime) -> set[str]:
        """Insert the keys that are still free; returns those this transaction claimed."""
        if not owners:
            return set()
        k = models.idempotency_key
        stmt = self.db.insert(k).on_conflict_do_nothing(index_elements=["key"]).returning(k.c.key)
        rows = [{"key": key, "entry_no": entry_no, "created_at": at} for key, entry_no in owners.items()]
        return set(conn.execute(stmt, rows).scalars())

    def _next_occurrences(self, conn: Connection, documents: list[tuple[str | None, str]]) -> list[int]:
        """The next occurrence of each document, in order (a document twice here counts twice)."""
        if not documents:
            return []
        counts: dict[tuple[str, str], int] = {}
        for document_type, document_no in documents:
            counts[(document_type or "", document_no)] = counts.get((document_type or "", document_no), 0) + 1
        d = models.document_occurrence
        stmt = self.db.insert(d)
        stmt = stmt.on_conflict_do_update(
            index_elements=["document_type", "document_no"],
            set_={"last_occurrence": d.c.last_occurrence + stmt.excluded.last_occurrence},
        ).returning(d.c.document_type, d.c.document_no, d.c.last_occurrence)
        last = {(t, n): int(v) for t, n, v in conn.execute(stmt, [
            {"document_type": t, "document_no": n, "last_occurrence": c} for (t, n), c in counts.items()])}
        taken = {doc: last[doc] - count for doc, count in counts.items()}  # the last one before these
        result = []
        for document_type, document_no in documents:
            doc = (document_type or "", document_no)
            taken[doc] += 1
            result.append(taken[doc])
        return result

    def entry_for_key(self, key: str) -> int | None:
        """The entry an idempotency key recorded (even if since purged), or None."""
        with self.db.read() as conn:
            return self._entry_for_key(conn, key)

    def _entry_for_key(self, conn: Connection, key: str) -> int | None:
        k = models.idempotency_key
        return conn.execute(sa.select(k.c.entry_no).where(k.c.key == key)).scalar()

    def _claim_key(self, conn: Connection, key: str, entry_no: int, at: datetime) -> bool:
        stmt = self.db.insert(models.idempotency_key).values(key=key, entry_no=entry_no, created_at=at)
        stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(models.idempotency_key.c.key)
        return conn.execute(stmt).first() is not None

    def _next_occurrence(self, conn: Connection, document_type: str | None, document_no: str) -> int:
        d = models.document_occurrence
        stmt = self.db.insert(d).values(document_type=document_type or "", document_no=document_no, last_occurrence=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["document_type", "document_no"],
            set_={"last_occurrence": d.c.last_occurrence + 1},
        ).returning(d.c.last_occurrence)
        return int(conn.execute(stmt).scalar_one())

    def _notify_saved(self, results: list[RecordResult]) -> None:
        if not self.plugins.has("interaction_saved"):
            for result in results:
                if result.interaction is not None:
                    result.interaction = result.interaction.frozen()
            return
        for result in results:
            snapshot = result.interaction.frozen() if result.interaction else self.find_one(result.entry_no)
            result.interaction = snapshot
            if snapshot is not None:
                self.plugins.notify("interaction_saved", self.warn, interaction=snapshot,
                                    created=result.created, logbook=self)

    # -- recording -------------------------------------------------------------------

    def interact(self, contact_no: str | None, template_code: str | None, *, attach: str | Path | None = None,
                 open_activity: bool = False, **values: Any) -> RecordResult:
        """Log one interaction by hand (``ilog interact``).

        ``open_activity`` records a task or meeting as open without a due date (any kind
        becomes open with ``due_at``); ``postponed=True`` saves it to finish later.
        """
        draft = self.draft(contact_no, template_code, source="manual", **values)
        if open_activity:
            if draft.due_at is None and draft.kind not in OPEN_KINDS:
                raise BadValue(f"--open without a due date is for kinds {' and '.join(OPEN_KINDS)} "
                               f"(this is {draft.kind}): give --due DATE to plan it")
            draft.state = "open"
        return self.save(draft, attach=attach)

    def record_event(self, event: str | DocumentEvent, document_no: str | None = None, *,
                     key: str | None = None, **fields: Any) -> RecordResult:
        """Record a document event (``ilog event``): template setup, hooks, occurrence, key.

        Returns a result with ``entry_no`` None and a ``message`` when no template is set
        up for the event (nothing is recorded; that is not an error).
        """
        if isinstance(event, DocumentEvent):
            doc = event
        else:
            doc = DocumentEvent(event=event, document_no=document_no or "", idempotency_key=key, **fields)
        doc = self.prepare_event(doc)
        if doc.idempotency_key:
            existing = self.entry_for_key(doc.idempotency_key)
            if existing is not None:
                result = RecordResult(existing, False)
                self._notify_saved([result])
                return result
        draft = self.plugins.first("interaction_from_document", event=doc, logbook=self)
        if draft is None:
            return RecordResult(None, False, message=f"no template is set up for event {doc.event!r}: nothing recorded")
        self.apply_event(draft, doc)
        return self.save(draft, attach=doc.attach)

    def prepare_event(self, doc: DocumentEvent) -> DocumentEvent:
        """Check an event's fields and resolve its contact (``--ref`` through ``resolve_contact``)."""
        from .events import check_event_name

        doc.event = check_event_name(self, doc.event)
        doc.document_no = check_text(doc.document_no, "document number", 50, required=True)
        doc.idempotency_key = check_text(doc.idempotency_key, "idempotency key", 200)
        if doc.contact_no is None and doc.ref is None:
            raise BadValue("an event needs --contact or --ref")
        if doc.contact_no is None:
            ref = check_text(doc.ref, "reference", 100, required=True)
            resolved = self.plugins.first("resolve_contact", ref=ref, event=doc, logbook=self)
            if resolved is None:
                raise NotFound(f"cannot resolve reference {ref!r} to a contact (no plugin answered)")
            try:
                doc.contact_no = self.contacts.get(str(resolved)).no
            except NotFound:
                raise NotFound(f"reference {ref!r} resolved to unknown contact {str(resolved)!r}") from None
        else:
            doc.contact_no = self.contacts.get(doc.contact_no).no
        if doc.occurred_at is None:
            doc.occurred_at = dates.now()
        return doc

    def apply_event(self, draft: Interaction, doc: DocumentEvent) -> None:
        """Stamp a draft with what the document event says about itself."""
        from .events import document_type_for

        draft.source = "event"
        draft.document_type = doc.document_type or document_type_for(doc.event)
        draft.document_no = doc.document_no
        draft.version_no = doc.version_no
        draft.idempotency_key = doc.idempotency_key
        draft.extra.setdefault("event", doc.event)
        if draft.occurred_at is None:
            draft.occurred_at = doc.occurred_at

    def record_events(self, events: Iterable[Any], *, defaults: dict[str, Any] | None = None,
                      chunk_size: int = 500) -> list[Any]:
        """Record many document events (``ilog event --input``): one outcome per event, in order.

        ``events`` are DocumentEvents, mappings or JSON lines with the fields of ``ilog
        event`` (``event``, ``document_no``, ``contact`` or ``ref``, ``key``...). Each is
        recorded as :meth:`record_event` would, saved ``chunk_size`` per transaction; a bad
        event is an outcome with an ``error`` and never stops the others. See
        :mod:`ilog.batch`.
        """
        return list(self.iter_record_events(events, defaults=defaults, chunk_size=chunk_size))

    def iter_record_events(self, events: Iterable[Any], *, defaults: dict[str, Any] | None = None,
                           chunk_size: int = 500) -> Iterator[Any]:
        """Like :meth:`record_events`, yielding the outcomes chunk by chunk as they are committed."""
        from .batch import iter_record_events

        return iter_record_events(self, events, defaults=defaults, chunk_size=chunk_size)

    # -- reading ---------------------------------------------------------------------

    def where(self, flt: LogFilter) -> list[Any]:
        """The WHERE clauses of a filter (see :func:`entry_clauses`)."""
        return entry_clauses(flt)

    def select(self, flt: LogFilter, columns: Iterable[Any] | None = None) -> sa.Select:
        stmt = sa.select(*(columns or [T])).where(*self.where(flt))
        order = (T.c.occurred_at.desc(), T.c.entry_no.desc()) if flt.newest_first else (
            T.c.occurred_at.asc(), T.c.entry_no.asc())
        stmt = stmt.order_by(*order)
        if flt.limit:
            stmt = stmt.limit(flt.limit)
        return stmt

    def find(self, flt: LogFilter | None = None) -> list[Interaction]:
        """The entries a filter selects, newest first (unless ``newest_first`` is False)."""
        with self.db.read() as conn:
            rows = conn.execute(self.select(flt or LogFilter())).mappings().all()  # one fetchall, not a fetch per row
        return [row_to_interaction(row) for row in rows]

    def iter_find(self, flt: LogFilter, batch: int = 1000) -> Iterator[Interaction]:
        """Like :meth:`find`, streaming (exports of millions of entries)."""
        with self.db.read() as conn:
            result = conn.execution_options(yield_per=batch).execute(self.select(flt))
            for row in result.mappings():
                yield row_to_interaction(row)

    def count(self, flt: LogFilter) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(T).where(*self.where(flt))).scalar_one())

    def get(self, entry_no: int) -> Interaction:
        """One entry, cancelled or postponed alike; NotFound if it does not exist."""
        found = self.find_one(entry_no)
        if found is None:
            raise NotFound(f"interaction log entry {entry_no} does not exist")
        return found

    def find_one(self, entry_no: int | None) -> Interaction | None:
        if entry_no is None:
            return None
        with self.db.read() as conn:
            row = conn.execute(sa.select(T).where(T.c.entry_no == entry_no)).mappings().first()
        return row_to_interaction(row).frozen() if row else None

    def comments(self, entry_no: int) -> list[dict[str, Any]]:
        k = models.interaction_comment
        with self.db.read() as conn:
            rows = conn.execute(sa.select(k).where(k.c.entry_no == entry_no).order_by(k.c.line_no)).mappings()
            return [dict(r) for r in rows]

    # -- changing logged entries -----------------------------------------------------

    def _targets(self, conn: Connection, entry_nos: list[int] | None, flt: LogFilter | None) -> list[dict]:
        """Rows for explicit entry numbers (all must exist) or for a filter."""
        if entry_nos is not None:
            rows = conn.execute(sa.select(T).where(T.c.entry_no.in_(entry_nos))).mappings().all()
            found = {r["entry_no"] for r in rows}
            missing = [n for n in entry_nos if n not in found]
            if missing:
                raise NotFound(f"interaction log entry {missing[0]} does not exist")
            by_no = {r["entry_no"]: dict(r) for r in rows}
            return [by_no[n] for n in dict.fromkeys(entry_nos)]
        assert flt is not None
        if flt.is_empty():
            raise BadValue("give entry numbers or at least one filter")
        return [dict(r) for r in conn.execute(self.select(replace(flt, newest_first=False))).mappings()]

    def change(
        self,
        entry_nos: list[int] | None,
        flt: LogFilter | None,
        *,
        refuse: Callable[[dict], str | None],
        values: Callable[[dict], dict[str, Any]],
        hook: str | None = None,
        dry_run: bool = False,
        before_commit: Callable[[Connection, ChangeResult], None] | None = None,
    ) -> ChangeResult:
        """The one bulk-change mechanism: cancel, restore, complete, evaluate.

        With explicit entry numbers, any refused entry fails the whole command and nothing
        changes. With a filter, entries the rule refuses are skipped and reported.
        ``before_commit`` runs inside the transaction after the updates (``segment cancel``
        flags its logged segment there).
        """
        result = ChangeResult()
        with self.db.write() as conn:
            rows = self._targets(conn, entry_nos, flt)
            for row in rows:
                reason = refuse(row)
                if reason:
                    result.refused.append((row["entry_no"], reason))
                else:
                    result.changed.append(row["entry_no"])
            if entry_nos is not None and result.refused:
                no, reason = result.refused[0]
                more = f" (and {len(result.refused) - 1} more)" if len(result.refused) > 1 else ""
                raise Refused(f"entry {no} {reason}{more}; nothing changed")
            if dry_run:
                conn.rollback()
                return result
            changed_set = set(result.changed)
            changed_rows = [r for r in rows if r["entry_no"] in changed_set]
            for row in changed_rows:
                update = values(row)
                conn.execute(sa.update(T).where(T.c.entry_no == row["entry_no"]).values(**update))
                row.update(update)
            if before_commit is not None:
                before_commit(conn, result)
        if hook and result.changed and self.plugins.has(hook):
            for row in changed_rows:
                self.plugins.notify(hook, self.warn, interaction=row_to_interaction(row).frozen(), logbook=self)
        return result

    def cancel(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *, dry_run: bool = False) -> ChangeResult:
        """Mark entries cancelled (they stay in the log until purged)."""
        now = dates.now()
        return self.change(
            entry_nos, flt, dry_run=dry_run, hook="interaction_cancelled",
            refuse=lambda r: "is already cancelled" if r["cancelled"] else None,
            values=lambda r: {"cancelled": True, "cancelled_at": now},
        )

    def restore(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *, dry_run: bool = False) -> ChangeResult:
        """Undo the cancellation of entries (not of single entries of a cancelled logged segment)."""
        with self.db.read() as conn:
            cancelled_segments = set(conn.execute(
                sa.select(models.logged_segment.c.no).where(models.logged_segment.c.cancelled.is_(True))
            ).scalars())

        def refuse(row: dict) -> str | None:
            if not row["cancelled"]:
                return "is not cancelled"
            if row["logged_segment_no"] in cancelled_segments:
                return (f"belongs to cancelled logged segment {row['logged_segment_no']}: "
                        "restore the whole segment (ilog segment cancel NO --restore)")
            return None

        return self.change(
            entry_nos, flt if flt is None else replace(flt, cancelled="only"), dry_run=dry_run,
            hook="interaction_restored", refuse=refuse,
            values=lambda r: {"cancelled": False, "cancelled_at": None},
        )

    def evaluate(self, entry_nos: list[int] | None, evaluation: str, flt: LogFilter | None = None,
                 *, dry_run: bool = False) -> ChangeResult:
        """Set the evaluation of entries (very-positive ... very-negative, none)."""
        value = check_choice(evaluation, EVALUATIONS, "evaluation")
        return self.change(
            entry_nos, flt, dry_run=dry_run,
            refuse=lambda r: "is cancelled" if r["cancelled"] else None,
            values=lambda r: {"evaluation": value},
        )

    def complete(self, entry_nos: list[int] | None = None, flt: LogFilter | None = None, *,
                 dry_run: bool = False, at: datetime | None = None) -> ChangeResult:
        """Mark open activities done, with the completion time."""
        moment = at or dates.now()

        def refuse(row: dict) -> str | None:
            if row["cancelled"]:
                return "is cancelled"
            if row["postponed"]:
                return f"is postponed: log it first (ilog resume {row['entry_no']})"
            if row["state"] != "open":
                return "is already done"
            return None

        return self.change(
            entry_nos, flt if flt is None else replace(flt, state="open"), dry_run=dry_run, refuse=refuse,
            values=lambda r: {"state": "done", "completed_at": moment},
        )

    def comment(self, entry_no: int, text: str) -> int:
        """Add a dated comment line to an entry; returns its line number."""
        text = check_text(text, "comment", MAX_TEXT, required=True)
        k = models.interaction_comment
        with self.db.write() as conn:
            if conn.execute(sa.select(T.c.entry_no).where(T.c.entry_no == entry_no)).first() is None:
                raise NotFound(f"interaction log entry {entry_no} does not exist")
            last = conn.execute(sa.select(sa.func.max(k.c.line_no)).where(k.c.entry_no == entry_no)).scalar()
            line_no = (last or 0) + 1
            conn.execute(k.insert().values(entry_no=entry_no, line_no=line_no, created_at=dates.now(),
                                           user_id=self.user, text=text))
        return line_no

    # -- purge -----------------------------------------------------------------------

    def purge_cancelled(self, before: datetime, flt: LogFilter | None = None, *, dry_run: bool = False,
                        batch_size: int = 5000) -> int:
        """Delete cancelled entries dated before ``before``; never any other entry.

        Deletes in batches, each its own short transaction, so print hooks writing at the
        same time wait milliseconds, not seconds; an interrupted purge is simply run again.
        Idempotency keys stay (a reprint of a purged document records nothing new).
        """
        flt = replace(flt or LogFilter(), cancelled="only", postponed="include", date_to=None,
                      limit=None, newest_first=False)
        clauses = [*self.where(flt), T.c.occurred_at < before, T.c.cancelled.is_(True)]
        if dry_run:
            with self.db.read() as conn:
                return int(conn.execute(sa.select(sa.func.count()).select_from(T).where(*clauses)).scalar_one())
        total = 0
        want_snapshots = self.plugins.has("interactions_purged")
        # each transaction aims at PURGE_TRANSACTION_S: a writer waiting for the lock (a print
        # hook) waits that long at worst, on a fast disk or a slow one
        size = min(batch_size, 500)
        while True:
            started = time.perf_counter()
            with self.db.write() as conn:
                # in the order of the (cancelled, occurred_at) index: no sort of every cancelled entry
                batch = sa.select(T.c.entry_no).where(*clauses).order_by(T.c.occurred_at).limit(size)
                if want_snapshots:
                    rows = conn.execute(sa.select(T).where(T.c.entry_no.in_(batch))).mappings().all()
                    numbers = [r["entry_no"] for r in rows]
                else:
                    rows = []
                    numbers = list(conn.execute(batch).scalars())
                if not numbers:
                    break
                conn.execute(sa.delete(models.interaction_comment).where(
                    models.interaction_comment.c.entry_no.in_(numbers)))
                attachment_ids = set(conn.execute(
                    sa.select(T.c.attachment_id).where(T.c.entry_no.in_(numbers), T.c.attachment_id.is_not(None))
                ).scalars())
                # re-check cancelled in the DELETE itself: a restore may have come in between
                conn.execute(sa.delete(T).where(T.c.entry_no.in_(numbers), T.c.cancelled.is_(True)))
                if attachment_ids:
                    from .attachments import delete_unreferenced

                    delete_unreferenced(conn, attachment_ids)
            total += len(numbers)
            if want_snapshots:
                self.plugins.notify("interactions_purged", self.warn,
                                    interactions=[row_to_interaction(r).frozen() for r in rows], logbook=self)
            if len(numbers) < size:
                break
            elapsed = max(time.perf_counter() - started, 1e-4)
            size = min(batch_size, max(50, int(size * min(2.0, PURGE_TRANSACTION_S / elapsed))))
            # leave the lock free for a moment: SQLite's busy handler sleeps 1, 2, 5, 10, 15...
            # ms, and a writer that wakes while the next batch holds the lock sleeps longer
            time.sleep(min(PURGE_TRANSACTION_S, elapsed))
        return total

    # -- postponed entries, timeline, statistics, attachments --------------------------

    def resume(self, entry_no: int, **overrides: Any) -> RecordResult:
        """Log a postponed entry (``ilog resume``): overrides applied, hooks run again.

        The entry keeps its number; ``enrich_interaction`` and ``validate_interaction`` see
        the draft with ``postponed`` False, and ``interaction_saved`` is told after the
        commit (``created`` True: the interaction is logged now). Only postponed entries
        that are not cancelled can be resumed.
        """
        unknown = sorted(set(overrides) - set(RESUME_FIELDS))
        if unknown:
            raise BadValue(f"resume cannot change {', '.join(unknown)}")
        with self.db.read() as conn:
            row = conn.execute(sa.select(T).where(T.c.entry_no == entry_no)).mappings().first()
        if row is None:
            raise NotFound(f"interaction log entry {entry_no} does not exist")
        if not row["postponed"]:
            raise Refused(f"entry {entry_no} is not postponed: only postponed entries can be resumed")
        if row["cancelled"]:
            raise Refused(f"entry {entry_no} is cancelled: restore it before resuming it")
        draft = row_to_interaction(row)
        for name, value in overrides.items():
            if value is not None:
                setattr(draft, name, value)
        if overrides.get("due_at") is not None and draft.state == "done" and draft.completed_at is None:
            draft.state = "open"
        draft.postponed = False
        self.prepare(draft)
        draft.entry_no, draft.created_at = entry_no, row["created_at"]
        with self.db.write() as conn:
            if draft.document_no and (draft.document_type, draft.document_no) != (row["document_type"], row["document_no"]):
                draft.occurrence = self._next_occurrence(conn, draft.document_type, draft.document_no)
            values = {name: getattr(draft, name) for name in _STORED
                      if name not in ("entry_no", "created_at", "idempotency_key")}
            changed = conn.execute(sa.update(T).where(
                T.c.entry_no == entry_no, T.c.postponed.is_(True), T.c.cancelled.is_(False)).values(**values)).rowcount
            if not changed:
                raise Refused(f"entry {entry_no} was resumed or cancelled meanwhile; nothing changed")
        draft.idempotency_key = row["idempotency_key"]
        result = RecordResult(entry_no, True, draft)
        self._notify_saved([result])
        return result

    def timeline(self, contact_no: str, *, rollup: bool = True, limit: int | None = None,
                 include_cancelled: bool = False) -> tuple[Any, list[dict[str, Any]]]:
        """(contact, its entries newest first); a company's include its persons' unless not ``rollup``."""
        from .timeline import timeline

        return timeline(self, contact_no, rollup=rollup, limit=limit, include_cancelled=include_cancelled)

    def stats(self, by: str, *, date_from: datetime | None = None, date_to: datetime | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Count, cost and duration per template, group, contact, company, user or month."""
        from .stats import statistics

        return statistics(self, by, date_from=date_from, date_to=date_to, limit=limit)

    def contact_overview(self, contact_no: str, *, documents: int = 5) -> dict[str, Any]:
        """A contact with its statistics and its most recent documents (a company's rolled up)."""
        from .stats import contact_stats
        from .timeline import recent_documents

        with self.db.read() as conn:
            contact = self.contacts._get(conn, check_code(contact_no, "contact number"))
            rollup = contact.type == "company"
            return {"contact": contact, "stats": contact_stats(conn, contact.no, rollup=rollup),
                    "recent_documents": recent_documents(conn, contact.no, rollup=rollup, limit=documents)}

    def attachment(self, entry_no: int) -> dict[str, Any]:
        """The file an entry references: id, name, media_type, size, sha256, content."""
        from .attachments import fetch

        with self.db.read() as conn:
            row = conn.execute(sa.select(T.c.attachment_id).where(T.c.entry_no == entry_no)).first()
            if row is None:
                raise NotFound(f"interaction log entry {entry_no} does not exist")
            if row[0] is None:
                raise NotFound(f"entry {entry_no} has no attachment")
            return fetch(conn, row[0])


def entry_clauses(flt: LogFilter) -> list[Any]:
    """The WHERE clauses of a filter: the one place that turns entry filters into SQL.

    Timeline and statistics use it too, so "rolled up", "not cancelled" and "not
    postponed" mean the same everywhere.
    """
    c = T.c
    clauses: list[Any] = []
    if flt.entry_nos is not None:
        clauses.append(c.entry_no.in_(flt.entry_nos))
    if flt.contact_no:
        if flt.rollup:
            clauses.append(sa.or_(c.contact_no == flt.contact_no, c.company_no == flt.contact_no))
        else:
            clauses.append(c.contact_no == flt.contact_no)
    for name in ("company_no", "template_code", "group_code", "kind", "document_type", "document_no",
                 "segment_no", "logged_segment_no", "user_id", "evaluation", "state", "source"):
        value = getattr(flt, name)
        if value is not None:
            clauses.append(getattr(c, name) == value)
    if flt.date_from is not None:
        clauses.append(c.occurred_at >= flt.date_from)
    if flt.date_to is not None:
        clauses.append(c.occurred_at <= flt.date_to)
    # "IS NOT true" (the columns are NOT NULL) rather than "IS false": no index serves it, so
    # SQLite without statistics does not walk the (cancelled, occurred_at) index, which is
    # for finding the few cancelled entries, instead of a contact's own (200 ms, not 0.5 ms)
    if flt.cancelled == "exclude":
        clauses.append(c.cancelled.is_not(True))
    elif flt.cancelled == "only":
        clauses.append(c.cancelled.is_(True))
    if flt.postponed == "exclude":
        clauses.append(c.postponed.is_not(True))
    elif flt.postponed == "only":
        clauses.append(c.postponed.is_(True))
    if flt.due_before is not None:
        clauses.append(c.due_at < flt.due_before)
    if flt.overdue:
        clauses.extend([c.state == "open", c.due_at < dates.now()])
    if flt.text:
        needle = flt.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(sa.func.lower(c.subject).like(f"%{needle}%", escape="\\"))
    return clauses


def row_to_interaction(row: Any) -> Interaction:
    """An Interaction from a database row mapping."""
    if not _DIRECT_ROWS:
        return Interaction(**{name: row[name] for name in INTERACTION_FIELDS})
    # filled field by field without __init__ (as Interaction.frozen() copies): a history of
    # 50 entries or an export of millions converts at a third of the cost
    item = object.__new__(Interaction)
    state = item.__dict__
    for name in INTERACTION_FIELDS:
        state[name] = row[name]
    state["extra"] = {}
    state["_frozen"] = False
    return item


def _direct_rows_possible() -> bool:
    """Whether every field of Interaction is a stored column or one of the two set above."""
    import dataclasses

    return {f.name for f in dataclasses.fields(Interaction)} == {*INTERACTION_FIELDS, "extra", "_frozen"}


_DIRECT_ROWS = _direct_rows_possible()
