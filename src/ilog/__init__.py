"""ilog: a command-line interaction log, and the Python API ERP scripts and plugins use.

``import ilog`` is cheap: it imports no database library and no pluggy (the names below
that need one are loaded on first use). Everything a plugin or an ERP script needs is here::

    import ilog

    with ilog.open() as logbook:               # the configured database
        result = logbook.record_event(
            "sales.invoice", document_no="INV-1042", contact_no="CT000001", key="inv-1042-print-1"
        )
        print(result.entry_no, result.created)

Plugins mark their hook functions with :data:`hookimpl`; :mod:`ilog.plugins.hookspecs` is
the contract. Only :class:`IlogError` and its subclasses escape the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AlreadyExists,
    BadValue,
    DatabaseError,
    IlogError,
    Interrupted,
    NotFound,
    PluginError,
    DatabaseUnavailable,
    ReadOnlyDatabase,
    ReadOnlyRecord,
    Refused,
    ValidationFailed,
)
from .version import __version__

if TYPE_CHECKING:
    from .domain.records import (
        ChangeResult,
        Comment,
        Contact,
        DocumentEvent,
        Interaction,
        InteractionGroup,
        LoggedSegment,
        LogFilter,
        RecordResult,
        Segment,
        SegmentLine,
        Template,
    )
    from .cli.context import logbook_for, say
    from .logbook import Logbook, LogbookView
    from .plugins.hookspecs import hookimpl
    from .services.events import EventOutcome

__all__ = [
    "AlreadyExists",
    "BadValue",
    "ChangeResult",
    "Comment",
    "Contact",
    "DatabaseError",
    "DatabaseUnavailable",
    "DocumentEvent",
    "EventOutcome",
    "IlogError",
    "Interaction",
    "InteractionGroup",
    "Interrupted",
    "LogFilter",
    "Logbook",
    "LogbookView",
    "LoggedSegment",
    "NotFound",
    "PluginError",
    "ReadOnlyDatabase",
    "ReadOnlyRecord",
    "RecordResult",
    "Refused",
    "Segment",
    "SegmentLine",
    "Template",
    "ValidationFailed",
    "__version__",
    "hookimpl",
    "logbook_for",
    "open",
    "parse_age",
    "parse_datetime",
    "record_event",
    "say",
]

#: public name -> the module that defines it, imported on first use
_LAZY = {
    **{name: "ilog.domain.records" for name in (
        "ChangeResult", "Comment", "Contact", "DocumentEvent", "Interaction", "InteractionGroup", "LogFilter",
        "LoggedSegment", "RecordResult", "Segment", "SegmentLine", "Template")},
    "Logbook": "ilog.logbook",
    "LogbookView": "ilog.logbook",
    "EventOutcome": "ilog.services.events",
    "hookimpl": "ilog.plugins.hookspecs",
    "logbook_for": "ilog.cli.context",
    "say": "ilog.cli.context",
    "parse_datetime": "ilog.domain.dates",
    "parse_age": "ilog.domain.dates",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ilog' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def open(url: str | None = None, *, user: str | None = None, load_plugins: bool = True,  # noqa: A001
         create: bool = False) -> "Logbook":
    """Open the log: ``url`` or the configured database, with the installed plugins.

    A missing SQLite file is refused unless ``create`` (or it is the default location). The
    returned :class:`Logbook` is a context manager that closes its connections; it may be
    kept open for hours and shared between threads.
    """
    from .app import open_logbook

    return open_logbook(url, user=user, load_plugins=load_plugins, create=create)


def record_event(event: str, document_no: str, *, url: str | None = None, **fields: Any) -> "RecordResult":
    """Record one document event through the same path as ``ilog event`` (template setup, hooks).

    ``fields`` are those of :class:`DocumentEvent` (``contact_no`` or ``ref``,
    ``document_type``, ``version_no``, ``occurred_at``, ``subject``, ``attach``,
    ``idempotency_key`` or ``key``...), and ``delivery`` (``direct``, ``auto``, ``spool``)
    overrides the setting. Returns a :class:`RecordResult`; its ``entry_no`` is None when no
    template is set up for the event, or when the event was spooled because the database
    is away (``delivery = "auto"``, the default) or ``delivery = "spool"``: then
    ``spool_id`` says where it waits and ``key`` is the idempotency key it will be recorded
    with.
    """
    with open(url) as logbook:
        return logbook.record_event(event, document_no=document_no, **fields)
