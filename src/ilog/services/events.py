"""Document events: ``ilog event`` one at a time, and batches of them (``ilog event --input``).

An event goes through the template setup and the hooks: ``resolve_contact`` (for ``--ref``),
``interaction_from_document`` (ilog's own default answers last, from the template set up for
the event), then the save pipeline of :mod:`ilog.services.entries`. An idempotency key seen
before records nothing new and returns the entry it recorded, even after that entry was
purged.

A batch (:meth:`Events.iter_record`) has the same per-event semantics, at the cost of one
process: events are prepared chunk by chunk in ONE read unit (each template, contact and
event mapping read once per chunk, hooks reading through the same snapshot), then each
chunk is saved in one write unit. A bad event never sinks the others: it is an outcome with
its line number and error; if a chunk fails in the database, its events are saved again one
by one so that only the bad one fails (unless the database is away: then the rest of the
chunk fails with that at once, rather than one connect timeout per event).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..domain import dates, rules, values
from ..domain.records import EVENT_FIELDS, DocumentEvent, Interaction, RecordResult
from ..errors import BadValue, DatabaseError, DatabaseUnavailable, IlogError, NotFound

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext
    from .entries import Entries
    from .templates import Templates

DEFAULT_CHUNK = 500


@dataclass
class EventOutcome:
    """What became of one input event: ``line`` is its 1-based position in the input."""

    line: int
    result: RecordResult | None = None
    error: IlogError | None = None

    @property
    def entry_no(self) -> int | None:
        return self.result.entry_no if self.result else None

    @property
    def created(self) -> bool:
        return bool(self.result and self.result.created)

    @property
    def message(self) -> str | None:
        if self.error is not None:
            return self.error.message
        return self.result.message if self.result else None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "entry_no": self.entry_no, "created": self.created,
                "error": self.error.message if self.error else None,
                "message": None if self.error else self.message}


def event_from(item: Any, defaults: Mapping[str, Any] | None = None) -> DocumentEvent | None:
    """A DocumentEvent from a DocumentEvent, a mapping or a JSON line (over ``defaults``);
    None for a blank line. Field names are those of :class:`DocumentEvent`, or the option
    names of ``ilog event`` (``contact``, ``version``, ``date``, ``key``...)."""
    if isinstance(item, DocumentEvent):
        return item
    if isinstance(item, (str, bytes)):
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        if not text.strip():
            return None
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise BadValue(f"not a JSON object: {exc}") from None
    if not isinstance(item, Mapping):
        raise BadValue("not a JSON object")
    known = {alias: name for name, aliases in EVENT_FIELDS.items() for alias in aliases}
    merged: dict[str, Any] = {}
    for source in (defaults or {}), item:
        for key, value in source.items():
            name = known.get(key)
            if name is None or name == "extra":
                shown = sorted(k for k in known if k != "extra")
                raise BadValue(f"unknown field {key!r} (fields: {', '.join(shown)})")
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                raise BadValue(f"field {key!r} must be a string, a number or true/false")
            merged[name] = value
    if "event" not in merged:
        raise BadValue("no event: give \"event\" on the line or EVENT on the command line")
    if "document_no" not in merged:
        raise BadValue("no document_no")
    return values.validated(DocumentEvent, merged)


class Events:
    """Recording document events, one or many."""

    def __init__(self, ctx: "ServiceContext", entries: "Entries", templates: "Templates"):
        self.ctx = ctx
        self.entries = entries
        self.templates = templates

    # -- one event -----------------------------------------------------------------------------

    def record(self, event: str | DocumentEvent | Mapping[str, Any], document_no: str | None = None, *,
               key: str | None = None, **fields: Any) -> RecordResult:
        """Record a document event (``ilog event``): template setup, hooks, occurrence, key.

        Returns a result with ``entry_no`` None and a ``message`` when no template is set
        up for the event (nothing is recorded; that is not an error).
        """
        doc = self.document(event, document_no, key, fields)
        with self.ctx.db.unit() as uow:
            doc = self.prepare(doc, uow=uow)
            if doc.idempotency_key:
                existing = uow.keys.entries_for([doc.idempotency_key]).get(doc.idempotency_key)
                if existing is not None:
                    replay = self.entries.replay(doc.idempotency_key, existing, _fingerprint(doc))
                    draft = None
                else:
                    replay = None
                    draft = self._draft(doc, uow)
            else:
                replay, draft = None, self._draft(doc, uow)
            if draft is not None:
                self.entries.prepare(draft, uow=uow)
        if replay is not None:
            self.entries.notify_saved([replay])
            return replay
        if draft is None:
            return RecordResult(entry_no=None, created=False,
                                message=f"no template is set up for event {doc.event!r}: nothing recorded")
        return self.entries.save_prepared([draft], attach=doc.attach)[0]

    @staticmethod
    def document(event: Any, document_no: str | None = None, key: str | None = None,
                 fields: dict[str, Any] | None = None) -> DocumentEvent:
        """The validated DocumentEvent of what :meth:`record` was given (BadValue if a value is bad)."""
        fields = fields or {}
        if isinstance(event, DocumentEvent):
            if document_no is not None or key is not None or fields:
                raise BadValue("give a DocumentEvent or its fields, not both")
            return event
        given = dict(event) if isinstance(event, Mapping) else {"event": event}
        if document_no is not None:
            given["document_no"] = document_no
        if key is not None:
            given["idempotency_key"] = key
        given.update(fields)
        doc = event_from(given)
        assert doc is not None
        return doc

    def check(self, doc: DocumentEvent) -> DocumentEvent:
        """What needs no database: the event's name (folded), and a contact or a reference."""
        doc.event = self.templates.check_event_name(doc.event)
        if doc.contact_no is not None and doc.ref is not None:
            raise BadValue("give a contact (--contact, contact_no) or a reference (--ref, ref), not both")
        if doc.contact_no is None and doc.ref is None:
            raise BadValue("an event needs a contact (--contact, contact_no) or a reference (--ref, ref)")
        return doc

    def prepare(self, doc: DocumentEvent, *, uow: "UnitOfWork") -> DocumentEvent:
        """Check an event and resolve its contact (``--ref`` through ``resolve_contact``)."""
        self.check(doc)
        if doc.contact_no is None:
            ref = values.required_text(doc.ref, "reference", 100)
            resolved = self.ctx.plugins.first("resolve_contact", ref=ref, event=doc, logbook=self.ctx.hooks_view(uow))
            if resolved is None:
                raise NotFound(f"cannot resolve reference {ref!r} to a contact (no plugin answered)")
            no = values.code(str(resolved), "contact number")
            if uow.contacts.get(no) is None:
                raise NotFound(f"reference {ref!r} resolved to unknown contact {no!r}")
            doc.contact_no = no
        elif uow.contacts.get(doc.contact_no) is None:
            raise NotFound(f"unknown contact {doc.contact_no!r}")
        if doc.occurred_at is None:
            doc.occurred_at = dates.now()
        return doc

    def _draft(self, doc: DocumentEvent, uow: "UnitOfWork") -> Interaction | None:
        """The entry for an event (``interaction_from_document``), stamped with the document; None
        when no template is set up."""
        draft = self.ctx.plugins.first("interaction_from_document", event=doc, logbook=self.ctx.hooks_view(uow))
        if draft is None:
            return None
        for name, value in doc.document_fields().items():
            setattr(draft, name, value)
        draft.extra.setdefault("event", doc.event)
        if draft.occurred_at is None:
            draft.occurred_at = doc.occurred_at
        for name in ("owner", "opportunity_no"):  # what the document says, whoever built the draft
            if getattr(draft, name) is None and getattr(doc, name) is not None:
                setattr(draft, name, getattr(doc, name))
        return draft

    # -- a batch -------------------------------------------------------------------------------

    def record_many(self, events: Iterable[Any], *, defaults: Mapping[str, Any] | None = None,
                    chunk_size: int = DEFAULT_CHUNK) -> list[EventOutcome]:
        """Record many document events (``ilog event --input``): one outcome per event, in order."""
        return list(self.iter_record(events, defaults=defaults, chunk_size=chunk_size))

    def iter_record(self, events: Iterable[Any], *, defaults: Mapping[str, Any] | None = None,
                    chunk_size: int = DEFAULT_CHUNK) -> Iterator[EventOutcome]:
        """Record events (DocumentEvent, mapping or JSON line), yielding one outcome per event in
        order, chunk by chunk after each chunk's commit. Blank lines count for the line numbers
        but record nothing and yield nothing."""
        chunk_size = max(1, int(chunk_size))
        chunk: list[tuple[int, Any]] = []
        for line, item in enumerate(events, 1):
            chunk.append((line, item))
            if len(chunk) >= chunk_size:
                yield from self._record_chunk(chunk, defaults)
                chunk = []
        if chunk:
            yield from self._record_chunk(chunk, defaults)

    def _record_chunk(self, items: list[tuple[int, Any]], defaults: Mapping[str, Any] | None) -> list[EventOutcome]:
        outcomes: list[EventOutcome] = []
        replays: list[RecordResult] = []
        batch: list[tuple[EventOutcome, Interaction]] = []
        alone: list[tuple[EventOutcome, Interaction, str | None]] = []
        with self.ctx.db.unit() as uow:  # the whole chunk's reads on one connection
            parsed: list[tuple[EventOutcome, DocumentEvent | None]] = []
            for line, item in items:
                outcome = EventOutcome(line)
                try:
                    doc = event_from(item, defaults)
                    if doc is None:
                        continue
                    parsed.append((outcome, doc))
                except IlogError as exc:
                    outcome.error = exc
                    parsed.append((outcome, None))
                outcomes.append(outcome)
            # the chunk's contacts in one query, not one per contact
            uow.contacts.prefetch([doc.contact_no for _, doc in parsed if doc is not None and doc.contact_no])
            docs: list[tuple[EventOutcome, DocumentEvent]] = []
            for outcome, doc in parsed:
                if doc is None:
                    continue
                try:
                    docs.append((outcome, self.prepare(doc, uow=uow)))
                except IlogError as exc:
                    outcome.error = exc
            # replays first, as record() does: a key already recorded runs no hook but interaction_saved
            known = uow.keys.entries_for([doc.idempotency_key for _, doc in docs if doc.idempotency_key])
            for outcome, doc in docs:
                if doc.idempotency_key in known:
                    try:
                        outcome.result = self.entries.replay(doc.idempotency_key, known[doc.idempotency_key],
                                                              _fingerprint(doc))
                    except IlogError as exc:
                        outcome.error = exc
                        continue
                    replays.append(outcome.result)
                    continue
                try:
                    draft = self._draft(doc, uow)
                    if draft is None:
                        outcome.result = RecordResult(
                            entry_no=None, created=False,
                            message=f"no template is set up for event {doc.event!r}: nothing recorded")
                        continue
                    self.entries.prepare(draft, uow=uow)
                except IlogError as exc:
                    outcome.error = exc
                    continue
                if doc.attach:
                    alone.append((outcome, draft, doc.attach))
                else:
                    batch.append((outcome, draft))
        if replays:
            self.entries.notify_saved(replays)
        away: DatabaseUnavailable | None = None  # the rest of the chunk fails at once, not one timeout each
        if batch:
            try:
                for (outcome, _), result in zip(batch, self.entries.save_prepared([d for _, d in batch])):
                    outcome.result = result
            except Exception as exc:  # noqa: BLE001 - one bad event must not sink the chunk
                if not _is_database_error(exc):
                    raise
                if isinstance(exc, DatabaseUnavailable):
                    away = exc
                alone[:0] = [(outcome, draft, None) for outcome, draft in batch]
        for outcome, draft, attach in alone:
            if away is not None:
                outcome.error = away
                continue
            try:
                outcome.result = self.entries.save_prepared([draft], attach=attach)[0]
            except Exception as exc:  # noqa: BLE001
                if not _is_database_error(exc):
                    raise
                outcome.error = _error_from(exc)
                if isinstance(outcome.error, DatabaseUnavailable):
                    away = outcome.error
        return outcomes


def _fingerprint(doc: DocumentEvent) -> str:
    """The fingerprint of the entry an event records (its draft takes these same values)."""
    return rules.fingerprint(doc.contact_no, doc.document_type or doc.event, doc.document_no)


def _is_database_error(exc: Exception) -> bool:
    return isinstance(exc, IlogError)  # the store turns every database exception into a DatabaseError


def _error_from(exc: Exception) -> IlogError:
    return exc if isinstance(exc, IlogError) else DatabaseError(str(exc))
