"""The Logbook: the facade ERP scripts and the CLI hold, and the read-only view hooks receive.

A :class:`Logbook` composes the services (:mod:`ilog.services`) on one
:class:`~ilog.services.context.ServiceContext`; it keeps no state of any operation, so one
logbook can be held for hours and called from several threads. ``ilog.open()`` builds one
(:mod:`ilog.app`, the composition root).

Hooks receive a :class:`LogbookView`: the reads a plugin may use, and nothing that writes.
A view handed to a hook that runs before a save reads through the same unit of work (the
same snapshot) as the operation that called the hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .services.contacts import Contacts
from .services.delivery import Delivery
from .services.entries import Entries
from .services.events import EventOutcome, Events
from .services.reports import Reports
from .services.segments import Segments
from .services.teams import Teams
from .services.templates import Templates

if TYPE_CHECKING:
    from .domain.records import (
        ChangeResult,
        Comment,
        Contact,
        DocumentEvent,
        Interaction,
        LogFilter,
        RecordResult,
        Segment,
        Template,
    )
    from .plugins.host import PluginHost
    from .services.context import ServiceContext
    from .services.privacy import Privacy
    from .services.transfer import Transfer
    from .store.database import Database
    from .store.unit import UnitOfWork


def _guarded(function: Any) -> Any:
    """The API's promise: only :class:`ilog.IlogError` subclasses escape. A wrong call (an
    unknown keyword, a value of the wrong type) is a BadValue; anything else an IlogError
    saying it is an internal error, with the original exception as its cause."""
    import functools
    import inspect

    from .errors import BadValue, IlogError

    def convert(exc: Exception) -> IlogError:
        if isinstance(exc, (TypeError, ValueError)):
            return BadValue(f"{getattr(function, '__name__', 'call')}: {exc}")
        return IlogError(f"internal error: {type(exc).__name__}: {exc}")

    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from function(*args, **kwargs)
            except IlogError:
                raise
            except Exception as exc:  # noqa: BLE001 - the API boundary
                raise convert(exc) from exc
        return stream

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except IlogError:
            raise
        except Exception as exc:  # noqa: BLE001 - the API boundary
            raise convert(exc) from exc
        if inspect.isgenerator(result):
            return _guarded(lambda: (yield from result))()
        return result
    return call


class _Guarded:
    """A service as the API hands it out (``logbook.contacts``): every method guarded."""

    def __init__(self, service: Any):
        self._service = service

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._service, name)
        return _guarded(value) if callable(value) and not name.startswith("_") else value


class Logbook:
    """The interaction log: recording, reading, changing and purging entries, and the books of
    contacts, templates and segments (``logbook.contacts``, ``.templates``, ``.segments``),
    imports and exports (``.transfer``) and privacy (``.privacy``).

    Every method raises only :class:`ilog.IlogError` subclasses."""

    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx
        self.entries = Entries(ctx)
        contacts, templates = Contacts(ctx), Templates(ctx)
        segments = Segments(ctx, self.entries)
        self.events = Events(ctx, self.entries, templates)
        self.delivery = Delivery(ctx, self.events, self._events_for)
        self.reports = Reports(ctx, self.entries)
        self.contacts: Contacts = _Guarded(contacts)  # type: ignore[assignment]
        self.templates: Templates = _Guarded(templates)  # type: ignore[assignment]
        self.segments: Segments = _Guarded(segments)  # type: ignore[assignment]
        self.teams: Teams = _Guarded(Teams(ctx))  # type: ignore[assignment]
        self._as_user: dict[str, Logbook] = {}
        ctx.view = LogbookView(self, services=(contacts, templates, segments))

    def _events_for(self, user: str) -> Events:
        """Events recorded as ``user`` (a spooled event is delivered as the user who printed it)."""
        if user == self.ctx.user:
            return self.events
        book = self._as_user.get(user)
        if book is None:
            from dataclasses import replace

            book = self._as_user[user] = Logbook(replace(self.ctx, user=user, view=None))
        return book.events

    @cached_property
    def transfer(self) -> "Transfer":
        """Imports and exports (loaded on first use: a print hook never needs the file readers)."""
        from .services.transfer import Transfer

        return _Guarded(Transfer(self.ctx, self.contacts._service, self.entries))  # type: ignore[return-value]

    @cached_property
    def privacy(self) -> "Privacy":
        """A contact's data, erasure and anonymization, erasure records and the retention
        policy (loaded on first use, like :attr:`transfer`)."""
        from .services.privacy import Privacy

        return Privacy(self.ctx, self.entries)

    @property
    def db(self) -> "Database":
        return self.ctx.db

    @property
    def user(self) -> str:
        return self.ctx.user

    @property
    def plugins(self) -> "PluginHost":
        return self.ctx.plugins

    def close(self) -> None:
        self.ctx.db.dispose()

    def __enter__(self) -> "Logbook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording ---------------------------------------------------------------------------

    def draft(self, contact_no: str | None, template_code: str | None = None, **values: Any) -> "Interaction":
        """An unsaved interaction with the template's values copied onto it (see :meth:`save`)."""
        return self.entries.draft(contact_no, template_code, **values)

    def save(self, draft: "Interaction", *, attach: str | Path | None = None) -> "RecordResult":
        """Record a draft through the whole pipeline (hooks, checks, numbering)."""
        return self.entries.save(draft, attach=attach)

    def prepare(self, draft: "Interaction") -> "Interaction":
        """Run what happens before a save (``enrich_interaction``, the checks, ``validate_interaction``);
        raises if the draft would be refused. Then :meth:`save_prepared` saves many at once."""
        return self.entries.prepare(draft)

    def save_prepared(self, drafts: list["Interaction"]) -> list["RecordResult"]:
        """Save prepared drafts in one transaction (all or nothing), then run ``interaction_saved``."""
        return self.entries.save_prepared(drafts)

    def interact(self, contact_no: str | None, template_code: str | None = None, *,
                 attach: str | Path | None = None, open_activity: bool = False, **values: Any) -> "RecordResult":
        """Log one interaction by hand, as ``ilog interact`` does."""
        return self.entries.interact(contact_no, template_code, attach=attach, open_activity=open_activity, **values)

    def record_event(self, event: "str | DocumentEvent", document_no: str | None = None, *, key: str | None = None,
                     delivery: str | None = None, **fields: Any) -> "RecordResult":
        """Record a document event, as ``ilog event`` does (fields: those of DocumentEvent).

        By the ``delivery`` setting (or this call's ``delivery``: ``direct``, ``auto``,
        ``spool``), an event the database cannot take now is spooled: the result then has a
        ``spool_id`` and no entry (see :mod:`ilog.services.delivery`)."""
        return self.delivery.record(event, document_no, key=key, delivery=delivery, **fields)

    def record_events(self, events: Iterable[Any], *, defaults: dict[str, Any] | None = None,
                      chunk_size: int = 500) -> list[EventOutcome]:
        """Record many document events, as ``ilog event --input`` does: one outcome per event."""
        return self.events.record_many(events, defaults=defaults, chunk_size=chunk_size)

    def iter_record_events(self, events: Iterable[Any], *, defaults: dict[str, Any] | None = None,
                           chunk_size: int = 500) -> Iterator[EventOutcome]:
        """Like :meth:`record_events`, yielding the outcomes chunk by chunk as they are committed."""
        return self.events.iter_record(events, defaults=defaults, chunk_size=chunk_size)

    # -- reading -----------------------------------------------------------------------------

    def find(self, flt: "LogFilter | None" = None) -> list["Interaction"]:
        return self.entries.find(flt)

    def iter_find(self, flt: "LogFilter") -> Iterator["Interaction"]:
        return self.entries.iter_find(flt)

    def count(self, flt: "LogFilter") -> int:
        return self.entries.count(flt)

    def get(self, entry_no: int) -> "Interaction":
        return self.entries.get(entry_no)

    def find_one(self, entry_no: int | None) -> "Interaction | None":
        return self.entries.find_one(entry_no)

    def entry_for_key(self, key: str) -> int | None:
        return self.entries.entry_for_key(key)

    def comments(self, entry_no: int) -> list[dict[str, Any]]:
        return self.entries.comments(entry_no)

    def timeline(self, contact_no: str | None, *, rollup: bool = True, limit: int | None = None,
                 include_cancelled: bool = False, opportunity_no: str | None = None
                 ) -> tuple["Contact | None", list[dict[str, Any]]]:
        return self.reports.timeline(contact_no, rollup=rollup, limit=limit, include_cancelled=include_cancelled,
                                     opportunity_no=opportunity_no)

    def timeline_count(self, contact_no: str | None, *, rollup: bool = True, include_cancelled: bool = False,
                       opportunity_no: str | None = None) -> int:
        return self.reports.timeline_count(contact_no, rollup=rollup, include_cancelled=include_cancelled,
                                           opportunity_no=opportunity_no)

    def stats(self, by: str, *, date_from: Any = None, date_to: Any = None, limit: int | None = None,
              flt: "LogFilter | None" = None) -> list[dict[str, Any]]:
        return self.reports.stats(by, date_from=date_from, date_to=date_to, limit=limit, flt=flt)

    def contact_overview(self, contact_no: str, *, documents: int = 5) -> dict[str, Any]:
        return self.reports.contact_overview(contact_no, documents=documents)

    def attachment(self, entry_no: int) -> dict[str, Any]:
        return self.reports.attachment(entry_no)

    # -- changing logged entries --------------------------------------------------------------

    def cancel(self, entry_nos: list[int] | None = None, flt: "LogFilter | None" = None, *,
               dry_run: bool = False) -> "ChangeResult":
        return self.entries.cancel(entry_nos, flt, dry_run=dry_run)

    def restore(self, entry_nos: list[int] | None = None, flt: "LogFilter | None" = None, *,
                dry_run: bool = False) -> "ChangeResult":
        return self.entries.restore(entry_nos, flt, dry_run=dry_run)

    def evaluate(self, entry_nos: list[int] | None, evaluation: str, flt: "LogFilter | None" = None, *,
                 dry_run: bool = False) -> "ChangeResult":
        return self.entries.evaluate(entry_nos, evaluation, flt, dry_run=dry_run)

    def complete(self, entry_nos: list[int] | None = None, flt: "LogFilter | None" = None, *,
                 dry_run: bool = False, at: datetime | None = None) -> "ChangeResult":
        return self.entries.complete(entry_nos, flt, dry_run=dry_run, at=at)

    def assign(self, entry_nos: list[int] | None, to: str, flt: "LogFilter | None" = None, *,
               dry_run: bool = False) -> "ChangeResult":
        """Hand open or postponed activities over to user ``to``."""
        return self.entries.assign(entry_nos, to, flt, dry_run=dry_run)

    def comment(self, entry_no: int, text: str) -> int:
        return self.entries.comment(entry_no, text)

    def resume(self, entry_no: int, **overrides: Any) -> "RecordResult":
        return self.entries.resume(entry_no, **overrides)

    def purge_cancelled(self, before: datetime, flt: "LogFilter | None" = None, *, dry_run: bool = False,
                        batch_size: int = 5000, progress: Any = None) -> int:
        """Delete cancelled entries dated before ``before`` (``progress(done, total)`` told as it goes)."""
        return self.entries.purge_cancelled(before, flt, dry_run=dry_run, batch_size=batch_size, progress=progress)

    def purge_preview(self, before: datetime, flt: "LogFilter | None" = None) -> list["Interaction"]:
        """The first (oldest) entries :meth:`purge_cancelled` would delete."""
        return self.entries.purge_preview(before, flt)


def _guard_methods(cls: type) -> type:
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_") and not isinstance(value, (type, staticmethod, classmethod)):
            setattr(cls, name, _guarded(value))
    return cls


_guard_methods(Logbook)


# -- what hooks see -------------------------------------------------------------------------------


class _ContactsView:
    def __init__(self, contacts: Contacts, uow: "UnitOfWork | None"):
        self._contacts, self._uow = contacts, uow

    def get(self, no: str) -> "Contact":
        """The contact; NotFound if there is none."""
        return self._contacts.get(no, uow=self._uow)

    def find(self, **criteria: Any) -> list["Contact"]:
        """Contacts by ``type``, ``company_no``, ``salesperson``, ``text``, ``limit``."""
        return self._contacts.find(**criteria, uow=self._uow)

    def persons(self, company_no: str) -> list["Contact"]:
        return self._contacts.persons(company_no, uow=self._uow)

    def by_external_id(self, external_id: str) -> "Contact | None":
        return self._contacts.by_external_id(external_id, uow=self._uow)

    def by_email(self, email: str) -> list["Contact"]:
        return self._contacts.by_email(email, uow=self._uow)


class _TemplatesView:
    def __init__(self, templates: Templates, uow: "UnitOfWork | None"):
        self._templates, self._uow = templates, uow

    def get(self, code: str) -> "Template":
        return self._templates.get(code, uow=self._uow)

    def list(self, group_code: str | None = None) -> list["Template"]:
        return self._templates.list(group_code, uow=self._uow)

    def template_for_event(self, event: str) -> str | None:
        """The template set up for a document event, or None."""
        return self._templates.template_for_event(event, uow=self._uow)

    def event_names(self) -> list[str]:
        return self._templates.event_names()


class _SegmentsView:
    def __init__(self, segments: Segments):
        self._segments = segments

    def get(self, no: str) -> "Segment":
        return self._segments.get(no)

    def lines(self, no: str) -> list[Any]:
        return self._segments.lines(no)


class LogbookView:
    """The logbook as hooks see it: reads only (``logbook.get``, ``logbook.find``,
    ``logbook.contacts.by_external_id``...), and :meth:`draft` to build an unsaved entry."""

    def __init__(self, logbook: Logbook, uow: "UnitOfWork | None" = None, *, services: tuple[Any, ...]):
        self._logbook = logbook
        self._uow = uow
        self._services = services
        contacts, templates, segments = services
        self.contacts = _ContactsView(contacts, uow)
        self.templates = _TemplatesView(templates, uow)
        self.segments = _SegmentsView(segments)

    def bound(self, uow: "UnitOfWork") -> "LogbookView":
        """This view reading through ``uow`` (the snapshot of the operation calling a hook)."""
        return LogbookView(self._logbook, uow, services=self._services)

    @property
    def user(self) -> str:
        """Who ilog runs as (``--user``, ``ILOG_USER``)."""
        return self._logbook.user

    def draft(self, contact_no: str | None, template_code: str | None = None, **values: Any) -> "Interaction":
        """An unsaved interaction with the template's values copied onto it."""
        return self._logbook.entries.draft(contact_no, template_code, uow=self._uow, **values)

    def get(self, entry_no: int) -> "Interaction":
        return self._logbook.entries.get(entry_no, uow=self._uow)

    def find(self, flt: "LogFilter | None" = None) -> list["Interaction"]:
        return self._logbook.entries.find(flt, uow=self._uow)

    def count(self, flt: "LogFilter") -> int:
        return self._logbook.entries.count(flt, uow=self._uow)

    def entry_for_key(self, key: str) -> int | None:
        return self._logbook.entries.entry_for_key(key, uow=self._uow)

    def comments(self, entry_no: int) -> list["Comment"]:
        return self._logbook.entries.comments(entry_no)
