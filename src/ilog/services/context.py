"""What every service shares: the database, the plugins, who is working, and how to warn.

A :class:`ServiceContext` holds no state of any one operation (each operation opens its own
unit of work), so one context, and the logbook built on it, can serve many threads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plugins.host import PluginHost
    from ..store.database import Database
    from ..store.unit import UnitOfWork

DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


def stderr_warning(message: str) -> None:
    print(f"ilog: warning: {message}", file=sys.stderr)


@dataclass
class ServiceContext:
    db: "Database"
    plugins: "PluginHost"
    user: str
    warn: Callable[[str], None] = stderr_warning
    attachment_max_bytes: int = DEFAULT_ATTACHMENT_MAX_BYTES
    #: the ``[retention]`` settings as :meth:`ilog.config.Settings.table` gives them
    retention: dict[str, Any] = field(default_factory=dict)
    #: what recording a document event does when the database is away: direct, auto or spool
    delivery: str = "direct"
    #: this host's spool of events waiting for the database (None: nothing is ever spooled)
    spool_path: Path | None = None
    #: the read-only view of the logbook hooks receive (set by the logbook that owns this context)
    view: Any = field(default=None, repr=False)

    @contextmanager
    def reading(self, uow: "UnitOfWork | None" = None) -> Iterator["UnitOfWork"]:
        """The caller's unit of work, or a new read unit for this one call."""
        if uow is not None:
            yield uow
            return
        with self.db.unit() as fresh:
            yield fresh

    @contextmanager
    def writing(self, uow: "UnitOfWork | None" = None) -> Iterator["UnitOfWork"]:
        """The caller's unit of work, or a new write unit committed when the block ends."""
        if uow is not None:
            yield uow
            return
        with self.db.unit(write=True) as fresh:
            yield fresh

    def hooks_view(self, uow: "UnitOfWork | None" = None) -> Any:
        """The logbook as hooks see it: read-only, reading through ``uow`` when one is open."""
        return self.view.bound(uow) if uow is not None else self.view
