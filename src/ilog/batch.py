"""Batch mode: many document events recorded by one process (``ilog event --input FILE``).

A print run of 5,000 invoices that starts ``ilog event`` 5,000 times pays the start-up
5,000 times. :func:`iter_record_events` records them in one process with the same
per-event semantics as :meth:`Logbook.record_event <ilog.logbook.Logbook.record_event>`:
each event's own checks, idempotency key, document occurrence, template setup and hooks
(``resolve_contact``, ``interaction_from_document``, ``enrich_interaction``,
``validate_interaction`` before, ``interaction_saved`` after the commit).

What changes is only the cost: events are prepared one by one, then saved in chunks
(500 per transaction by default) through :meth:`Logbook.save_prepared`; one connection
serves the whole batch; templates, contacts and the template setup are read once per
batch. A bad event never sinks the others: it is reported with its line number, and if
a chunk fails in the database, its events are saved again one by one so that only the
bad one fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadValue, DatabaseError, IlogError
from .records import DocumentEvent, RecordResult

if TYPE_CHECKING:
    from .logbook import Logbook

#: the fields of an input line (the long option names of ``ilog event``) -> DocumentEvent field
FIELDS = {
    "event": "event",
    "document_no": "document_no",
    "contact": "contact_no",
    "contact_no": "contact_no",
    "ref": "ref",
    "document_type": "document_type",
    "version": "version_no",
    "version_no": "version_no",
    "date": "occurred_at",
    "occurred_at": "occurred_at",
    "subject": "subject",
    "attach": "attach",
    "key": "idempotency_key",
    "idempotency_key": "idempotency_key",
}

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


def event_from_mapping(values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> DocumentEvent:
    """A DocumentEvent from an input line's fields (over ``defaults``); BadValue if malformed."""
    from .dates import parse_datetime
    from .records import check_code

    fields: dict[str, Any] = {}
    for source in (defaults or {}), values:
        for name, value in source.items():
            target = FIELDS.get(name)
            if target is None:
                raise BadValue(f"unknown field {name!r} (fields: {', '.join(sorted(set(FIELDS) - {'contact_no', 'version_no', 'occurred_at', 'idempotency_key'}))})")
            if value is None:
                continue
            if isinstance(value, (dict, list, bool)):
                raise BadValue(f"field {name!r} must be a string or a number")
            fields[target] = value
    if "event" not in fields:
        raise BadValue("no event: give \"event\" on the line or EVENT on the command line")
    if "document_no" not in fields:
        raise BadValue("no document_no")
    if "version_no" in fields:
        try:
            fields["version_no"] = int(fields["version_no"])
        except (TypeError, ValueError):
            raise BadValue(f"invalid version {fields['version_no']!r}: not a whole number") from None
        if fields["version_no"] < 0:
            raise BadValue("version must not be negative")
    if "occurred_at" in fields and isinstance(fields["occurred_at"], str):
        fields["occurred_at"] = parse_datetime(fields["occurred_at"])
    elif "occurred_at" in fields:
        raise BadValue(f"invalid date {fields['occurred_at']!r}")
    if "contact_no" in fields:
        fields["contact_no"] = check_code(fields["contact_no"], "contact number")
    for name in ("event", "document_no", "ref", "document_type", "subject", "attach", "idempotency_key"):
        if name in fields:
            fields[name] = str(fields[name])
    return DocumentEvent(**fields)


def _to_event(item: Any, defaults: Mapping[str, Any] | None) -> DocumentEvent | None:
    """An input item as a DocumentEvent; None for a blank line."""
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
    return event_from_mapping(item, defaults)


@contextmanager
def _batch_reads(logbook: "Logbook") -> Iterator[None]:
    """Read each template, contact and event mapping once per batch, on one connection.

    The lookups are the same methods plugins call (``logbook.contacts.get`` and friends),
    remembered for the duration of the batch: a batch sees the templates and contacts
    as they were when it first needed them, as one long transaction would.
    """
    logbook.db.keep_connection()
    templates, contacts = logbook.templates, logbook.contacts
    wrapped = []

    def remember(owner: Any, name: str, key_index: int) -> None:
        original = getattr(owner, name)
        cache: dict[Any, Any] = {}

        def cached(*args: Any) -> Any:
            key = args[key_index]
            if key in cache:
                return cache[key]
            value = original(*args)
            cache[key] = value
            return value

        setattr(owner, name, cached)
        wrapped.append((owner, name))

    remember(templates, "_get", 1)
    remember(contacts, "_get", 1)
    remember(templates, "template_for_event", 0)
    try:
        yield
    finally:
        for owner, name in wrapped:
            owner.__dict__.pop(name, None)


@contextmanager
def _one_read_transaction(logbook: "Logbook") -> Iterator[None]:
    """Every ``db.read()`` inside joins one read transaction: a chunk reads one snapshot.

    Preparing 500 events otherwise begins and commits a thousand tiny read transactions.
    Writes (the chunk's save, a hook that writes) still get their own connection and
    transaction; the chunk is saved after this snapshot ends.
    """
    db = logbook.db
    with db.read() as conn:

        @contextmanager
        def joined() -> Iterator[Any]:
            yield conn

        db.read = joined  # type: ignore[method-assign]
        try:
            yield
        finally:
            db.__dict__.pop("read", None)


def _error_from(exc: Exception) -> IlogError:
    """A database exception as an IlogError naming its cause in one line."""
    if isinstance(exc, IlogError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return DatabaseError(f"the database refused it: {text}")


def iter_record_events(logbook: "Logbook", events: Iterable[Any], *, defaults: Mapping[str, Any] | None = None,
                       chunk_size: int = DEFAULT_CHUNK) -> Iterator[EventOutcome]:
    """Record events (DocumentEvent, mapping or JSON line), yielding one outcome per event in order.

    Blank lines count for the line numbers but record nothing and yield nothing.
    Outcomes come chunk by chunk, after each chunk's commit.
    """
    chunk_size = max(1, int(chunk_size))
    with _batch_reads(logbook):
        chunk: list[tuple[int, Any]] = []
        for line, item in enumerate(events, 1):
            chunk.append((line, item))
            if len(chunk) >= chunk_size:
                yield from _record_chunk(logbook, chunk, defaults)
                chunk = []
        if chunk:
            yield from _record_chunk(logbook, chunk, defaults)


def _record_chunk(logbook: "Logbook", items: list[tuple[int, Any]],
                  defaults: Mapping[str, Any] | None) -> list[EventOutcome]:
    outcomes: list[EventOutcome] = []
    replays: list[RecordResult] = []
    batch: list[tuple[EventOutcome, Any]] = []
    alone: list[tuple[EventOutcome, Any, str | None]] = []
    with _one_read_transaction(logbook):
        _prepare_chunk(logbook, items, defaults, outcomes, replays, batch, alone)
    if replays:
        logbook._notify_saved(replays)

    if batch:
        try:
            for (outcome, _), result in zip(batch, logbook.save_prepared([d for _, d in batch])):
                outcome.result = result
        except Exception as exc:  # noqa: BLE001 - one bad event must not sink the chunk
            if not _is_database_error(exc):
                raise
            alone[:0] = [(outcome, draft, None) for outcome, draft in batch]
    for outcome, draft, attach in alone:
        try:
            outcome.result = logbook.save_prepared([draft], attach=attach)[0]
        except Exception as exc:  # noqa: BLE001
            if not _is_database_error(exc):
                raise
            outcome.error = _error_from(exc)
    return outcomes


def _prepare_chunk(logbook: "Logbook", items: list[tuple[int, Any]], defaults: Mapping[str, Any] | None,
                   outcomes: list[EventOutcome], replays: list[RecordResult],
                   batch: list[tuple[EventOutcome, Any]], alone: list[tuple[EventOutcome, Any, str | None]]) -> None:
    """Everything before the save, as record_event does it, for each event of a chunk."""
    docs: list[tuple[EventOutcome, DocumentEvent]] = []
    for line, item in items:
        outcome = EventOutcome(line)
        try:
            doc = _to_event(item, defaults)
            if doc is None:
                continue
            docs.append((outcome, logbook.prepare_event(doc)))
        except IlogError as exc:
            outcome.error = exc
        outcomes.append(outcome)

    # replays first, as record_event does: a key already recorded runs no hook but interaction_saved
    with logbook.db.read() as conn:
        known = logbook._entries_for_keys(conn, [doc.idempotency_key for _, doc in docs if doc.idempotency_key])

    for outcome, doc in docs:
        if doc.idempotency_key in known:
            outcome.result = RecordResult(known[doc.idempotency_key], False)
            replays.append(outcome.result)
            continue
        try:
            draft = logbook.plugins.first("interaction_from_document", event=doc, logbook=logbook)
            if draft is None:
                outcome.result = RecordResult(
                    None, False, message=f"no template is set up for event {doc.event!r}: nothing recorded")
                continue
            logbook.apply_event(draft, doc)
            logbook.prepare(draft)
        except IlogError as exc:
            outcome.error = exc
            continue
        if doc.attach:
            alone.append((outcome, draft, doc.attach))
        else:
            batch.append((outcome, draft))


def _is_database_error(exc: Exception) -> bool:
    import sqlalchemy as sa

    return isinstance(exc, (IlogError, sa.exc.SQLAlchemyError))
