"""Store-and-forward of document events: the ``delivery`` modes, the spool, and its flush.

A print must not fail because the central database is away. The setting ``delivery``
(``ILOG_DELIVERY``) says what recording a document event (``ilog event``,
``ilog.record_event``, ``Logbook.record_event``) does:

- ``direct``: record it in the database, or fail (exit 1), as always;
- ``auto`` (the default): record it in the database; when the database cannot be reached
  or cannot take the write now (:class:`~ilog.errors.DatabaseUnavailable`: refused, timed
  out, too many connections, a read-only standby...), put it in this host's spool
  (:mod:`ilog.store.spool`), say so with its spool id, and succeed;
- ``spool``: always put it in the spool (the fastest print: :mod:`ilog.cli.quick`); a
  timer runs ``ilog spool flush``.

**A bad event is refused, never spooled.** Before an event is spooled, everything that
needs no database is checked as usual (every value, the event's name, the attached file),
so a bad value still exits 2. What needs the database (the contact, the template set up
for the event, the plugins' ``validate_interaction``) is checked when the event is
delivered: an event refused then moves to the spool's failed list with the reason, until
``ilog spool drop ID`` or, once the cause is fixed (the contact added...), ``ilog spool
retry ID``.

**Exactly once.** In ``auto`` and ``spool`` mode every event carries an idempotency key
before its first attempt: the one given, or a new uuid4. An attempt whose commit was lost
with the connection and its spooled copy are then one recording, and a flush killed
half-way may deliver an event again harmlessly (the protocol is in
:mod:`ilog.store.spool`).

**In print order.** An event is spooled with the moment it was printed (``--date`` or now,
in the user's zone at that moment), and a flush delivers the oldest first, one flush at a
time. An event that reaches the database first flushes the spool for at most
:data:`FLUSH_ON_EVENT_S`; while events still wait there (the flush ran out of time, or
another flush holds the spool), a new ``auto`` event joins them rather than overtake
them, so the 2nd print of an invoice never becomes its occurrence 1. (``direct`` records
at once whatever waits.)

The functions at the top of this module import nothing heavy: the quick print path uses
them without SQLAlchemy, pydantic or Typer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadValue, DatabaseError, DatabaseUnavailable, IlogError, NotFound
from ..store.spool import Spool, SpooledEvent
from ..store.urls import mask_url, normalise_url

if TYPE_CHECKING:
    from ..domain.records import DocumentEvent, RecordResult
    from .context import ServiceContext
    from .events import Events

#: how long an event that reaches the database first delivers what waits in the spool
FLUSH_ON_EVENT_S = 0.25
#: events a flush records in one transaction (``ilog spool flush``; before an event)
FLUSH_CHUNK = 100
FLUSH_ON_EVENT_CHUNK = 20
#: a spooled event the database refuses this many times (reachable, but refusing *it*) fails
MAX_REFUSALS = 3
#: why an event was spooled, in ``delivery = "spool"`` mode
SPOOL_MODE = "delivery is spool"


# -- the light part: what the quick print path needs ------------------------------------------


def new_key() -> str:
    """A fresh idempotency key for an event that was given none."""
    import uuid

    return str(uuid.uuid4())


def target_of(database_url: str) -> str:
    """Which database a spooled event is for: its URL as ilog uses it, the password masked."""
    return mask_url(normalise_url(database_url))


def spooled_message(spool_id: int, reason: str) -> str:
    """What ``ilog event`` says (on stderr) about a spooled event."""
    return f"ilog: spooled as {spool_id} ({reason}); `ilog spool flush` delivers it"


def spool_event(path: Path, item: SpooledEvent) -> int:
    """Put one event in the spool at ``path``; its id, once it is on disk."""
    with Spool(path) as spool:
        return spool.put(item)


# -- the service -------------------------------------------------------------------------------


def _run(items: list[SpooledEvent]) -> list[SpooledEvent]:
    """The leading events that can be recorded in one batch: the same user, and an event with
    a file on its own (the batch path saves those last: its print order must not change)."""
    if not items or items[0].attachment is not None:
        return items[:1]
    run = []
    for item in items:
        if item.user_id != items[0].user_id or item.attachment is not None:
            break
        run.append(item)
    return run


@dataclass
class FlushReport:
    """What a flush did: ``delivered`` (spool id, result) in order, ``failed`` (spool id,
    reason), what still waits, and why it stopped early (``error``, or ``busy`` when another
    flush was running)."""

    delivered: list[tuple[int, "RecordResult"]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    pending: int = 0
    #: events waiting for other databases (``--db`` flushes them)
    elsewhere: int = 0
    error: DatabaseError | None = None
    busy: bool = False

    @property
    def unavailable(self) -> bool:
        return isinstance(self.error, DatabaseUnavailable)


class Delivery:
    """Recording document events by the ``delivery`` mode, and this host's spool."""

    def __init__(self, ctx: "ServiceContext", events: "Events", events_for: Callable[[str], "Events"]):
        self.ctx = ctx
        self.events = events
        #: the event service recording as a given user (a spooled event keeps who printed it)
        self.events_for = events_for

    @property
    def target(self) -> str:
        """The database this logbook's events are for, as spooled rows name it."""
        return mask_url(self.ctx.db.url)

    @property
    def mode(self) -> str:
        return self.ctx.delivery

    @property
    def path(self) -> Path | None:
        """This host's spool file (it exists once something was spooled)."""
        return self.ctx.spool_path

    @contextmanager
    def spool(self) -> Iterator[Spool]:
        if self.ctx.spool_path is None:
            raise IlogError("this logbook has no spool")
        with Spool(self.ctx.spool_path) as spool:
            yield spool

    # -- recording -----------------------------------------------------------------------------

    def record(self, event: "str | DocumentEvent | Mapping[str, Any]", document_no: str | None = None, *,
               key: str | None = None, delivery: str | None = None, **fields: Any) -> "RecordResult":
        """Record a document event as the ``delivery`` mode says (``delivery`` overrides the
        setting for this call): a result with its entry, or with its ``spool_id``."""
        from ..config import DELIVERY_MODES

        mode = delivery or self.ctx.delivery
        if mode not in DELIVERY_MODES:
            raise BadValue(f"invalid delivery {mode!r}: choose from {', '.join(DELIVERY_MODES)}")
        doc = self.events.document(event, document_no, key, fields)
        if mode == "direct" or self.ctx.spool_path is None:
            report = self._flush_first()
            if report is not None and report.unavailable:
                raise report.error  # type: ignore[misc]
            return self.events.record(doc)
        from ..domain import dates, values
        from ..domain.choices import MAX_USER
        from .attachments import read_file

        self.events.check(doc)
        values.text(self.ctx.user, "user id", MAX_USER)  # stamped on the entry when delivered
        if doc.idempotency_key is None:
            doc.idempotency_key = new_key()
        if doc.occurred_at is None:
            doc.occurred_at = dates.now()  # the moment of the print, whenever it is delivered
        attachment = read_file(Path(doc.attach), self.ctx.attachment_max_bytes) if doc.attach else None
        if mode == "spool":
            return self._spool(doc, attachment, SPOOL_MODE)
        try:
            report = self._flush_first()
            if report is not None and report.error is not None:
                return self._spool(doc, attachment, self._why(report.error))
            if report is not None and report.pending:
                return self._spool(doc, attachment, "earlier events wait in the spool")
            return self.events.record(doc.model_copy())
        except DatabaseUnavailable as exc:
            return self._spool(doc, attachment, self._why(exc))

    @staticmethod
    def _why(error: DatabaseError) -> str:
        if isinstance(error, DatabaseUnavailable):
            return f"the database is away: {error.message}"
        return f"the spool cannot be delivered: {error.message}"

    def _flush_first(self) -> FlushReport | None:
        """Deliver what waits for this database, for at most FLUSH_ON_EVENT_S; None when nothing waits."""
        path = self.ctx.spool_path
        if path is None or not path.exists():
            return None
        try:
            with self.spool() as spool:
                if not spool.pending(self.target):
                    return None
            return self.flush(budget=FLUSH_ON_EVENT_S, batch_size=FLUSH_ON_EVENT_CHUNK)
        except DatabaseError:
            raise
        except IlogError as exc:  # a spool that cannot be read must not stop this print
            self.ctx.warn(f"{exc.message}: what waits there stays there")
            return None

    def _spool(self, doc: "DocumentEvent", attachment: tuple[str, bytes] | None, reason: str) -> "RecordResult":
        from ..domain.records import RecordResult

        fields = doc.model_dump(mode="json", exclude_none=True, exclude={"attach", "idempotency_key"})
        if not fields.get("extra"):
            fields.pop("extra", None)
        fields["occurred_at"] = doc.occurred_at.isoformat()  # type: ignore[union-attr] - as the quick path writes it
        item = SpooledEvent(target=self.target, key=str(doc.idempotency_key), event=fields, user_id=self.ctx.user,
                            attachment_name=attachment[0] if attachment else None,
                            attachment=attachment[1] if attachment else None, reason=reason)
        with self.spool() as spool:
            spool_id = spool.put(item)
        return RecordResult(entry_no=None, created=False, spool_id=spool_id, key=item.key,
                            message=spooled_message(spool_id, reason).removeprefix("ilog: "))

    # -- the flush -------------------------------------------------------------------------------

    def flush(self, *, budget: float | None = None, batch_size: int = FLUSH_CHUNK) -> FlushReport:
        """Deliver the events waiting for this database, oldest first, through the whole event
        path, ``batch_size`` to a transaction; for at most ``budget`` seconds when given. Never
        raises for a database that is away: the report says where it stopped."""
        report = FlushReport()
        path = self.ctx.spool_path
        if path is None or not path.exists():
            return report
        deadline = time.monotonic() + budget if budget is not None else None
        with self.spool() as spool:
            with spool.flushing() as mine:
                if mine:
                    self._deliver_all(spool, report, deadline, max(1, int(batch_size)))
                else:
                    report.busy = True
            report.pending = spool.pending(self.target)
            report.elsewhere = spool.pending() - report.pending
        return report

    def _deliver_all(self, spool: Spool, report: FlushReport, deadline: float | None, chunk: int) -> None:
        while deadline is None or time.monotonic() < deadline:
            items = _run(spool.next_pending(self.target, chunk))
            if not items:
                return
            if not self._deliver(spool, items, report):
                return

    def _deliver(self, spool: Spool, items: list[SpooledEvent], report: FlushReport) -> bool:
        """Spooled events, in order, through the whole event path as the user who printed them
        (the batch path: one read unit, one write transaction); False: stop here."""
        import tempfile

        from .attachments import safe_file_name

        events = self.events_for(items[0].user_id)
        with tempfile.TemporaryDirectory(prefix="ilog-spool-") as folder:
            lines = []
            for item in items:
                line = dict(item.event, idempotency_key=item.key)
                if item.attachment is not None:  # the file may be long gone: its bytes are in the spool
                    path = Path(folder) / safe_file_name(item.attachment_name, "attachment")
                    path.write_bytes(item.attachment)
                    line["attach"] = str(path)
                lines.append(line)
            try:
                outcomes = list(events.iter_record(lines, chunk_size=len(lines)))
            except DatabaseError as exc:  # the chunk could not be read: nothing recorded
                spool.attempted(items[0].id, exc.message)  # type: ignore[arg-type]
                report.error = exc
                return False
        delivered: list[int] = []
        go_on = True
        for item, outcome in zip(items, outcomes):
            assert item.id is not None
            error = outcome.error
            if error is None:
                delivered.append(item.id)
                report.delivered.append((item.id, outcome.result))  # type: ignore[arg-type]
            elif isinstance(error, DatabaseError) and (isinstance(error, DatabaseUnavailable)
                                                       or item.attempts + 1 < MAX_REFUSALS):
                spool.attempted(item.id, error.message)  # still pending: the database is away, or may be
                report.error = report.error or error
                go_on = False
            else:  # the event itself (unknown contact, a plugin's veto), or refused by the database every time
                spool.failed(item.id, error.message)
                report.failed.append((item.id, error.message))
        spool.delivered(delivered)
        return go_on

    # -- looking at the spool ----------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Per database: events pending and failed, the oldest, the last error; this database first."""
        path = self.ctx.spool_path
        if path is None or not path.exists():
            return []
        with self.spool() as spool:
            rows = spool.counts()
        return sorted(rows, key=lambda r: r["target"] != self.target)

    def items(self, *, state: str | None = None, everywhere: bool = False) -> list[SpooledEvent]:
        """The spooled events (this database's, or every database's), oldest first."""
        path = self.ctx.spool_path
        if path is None or not path.exists():
            return []
        with self.spool() as spool:
            return spool.items(state=state, target=None if everywhere else self.target)

    def drop(self, spool_ids: list[int]) -> list[int]:
        """Remove spooled events for good (NotFound, and nothing removed, if one is not there)."""
        with self.spool() as spool:
            self._require(spool, spool_ids)
            for spool_id in spool_ids:
                spool.drop(spool_id)
        return spool_ids

    def retry(self, spool_ids: list[int]) -> list[int]:
        """Failed events back in the queue, at their own place (the next flush delivers them)."""
        with self.spool() as spool:
            for item in self._require(spool, spool_ids):
                if item.state != "failed":
                    raise BadValue(f"spooled event {item.id} has not failed: it is {item.state}")
            for spool_id in spool_ids:
                spool.retry(spool_id)
        return spool_ids

    @staticmethod
    def _require(spool: Spool, spool_ids: list[int]) -> list[SpooledEvent]:
        found = []
        for spool_id in spool_ids:
            item = spool.get(spool_id) if spool.exists() else None
            if item is None:
                raise NotFound(f"no spooled event {spool_id}")
            found.append(item)
        return found
