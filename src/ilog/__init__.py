"""ilog: a command-line interaction log, and the Python API ERP scripts use.

``import ilog`` is cheap: it imports no database library. The functions below open the
database on first use::

    import ilog

    with ilog.open() as logbook:               # the configured database
        result = logbook.record_event(
            "sales.invoice", document_no="INV-1042", contact_no="CT000001", key="inv-1042-print-1"
        )
        print(result.entry_no, result.created)

Plugins mark their hook functions with :data:`hookimpl`; :mod:`ilog.hookspecs` is the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from .errors import (
    AlreadyExists,
    BadValue,
    DatabaseError,
    IlogError,
    NotFound,
    PluginError,
    Refused,
    ValidationFailed,
)

if TYPE_CHECKING:
    from .logbook import Logbook
    from .records import RecordResult

__version__ = "0.1.0"

#: marker for plugin hook implementations: ``@ilog.hookimpl``
hookimpl = pluggy.HookimplMarker("ilog")

__all__ = [
    "AlreadyExists",
    "BadValue",
    "DatabaseError",
    "IlogError",
    "NotFound",
    "PluginError",
    "Refused",
    "ValidationFailed",
    "__version__",
    "hookimpl",
    "open",
    "record_event",
]


def open(url: str | None = None, *, user: str | None = None, load_plugins: bool = True) -> "Logbook":  # noqa: A001
    """Open the log: ``url`` or the configured database, with the installed plugins.

    The returned :class:`~ilog.logbook.Logbook` is a context manager that closes the
    database connection.
    """
    from .logbook import Logbook

    return Logbook.open(url, user=user, load_plugins=load_plugins)


def record_event(event: str, document_no: str, *, url: str | None = None, **fields: Any) -> "RecordResult":
    """Record one document event through the same path as ``ilog event`` (template setup, hooks).

    ``fields`` are those of :class:`~ilog.records.DocumentEvent` (``contact_no`` or ``ref``,
    ``document_type``, ``version_no``, ``occurred_at``, ``subject``, ``attach``) plus ``key``
    for the idempotency key. Returns a :class:`~ilog.records.RecordResult`; its
    ``entry_no`` is None when no template is set up for the event.
    """
    with open(url) as logbook:
        return logbook.record_event(event, document_no=document_no, **fields)
